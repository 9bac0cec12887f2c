"""Range checks of model-config values, applied when a config is built (so ``--set latent_dim=-3``
fails at once with one line, before any data loads or any layer is built).

Rules go by field name, so every model's config is covered, including ones added later:

- sizes and counts (``latent_dim``, ``*_filters``, ``*_blocks``, ``n_critic``, ``depth``, ``patch_layers``,
  ``*_units``) must be whole numbers >= 1 (``None`` keeps "automatic" where the field allows it);
- learning rates and ``reconstruction_sigma`` must be > 0; loss weights, ``beta``, ``pool_size`` >= 0;
- Adam's ``beta_1``/``beta_2`` and ``label_smoothing`` must lie in [0, 1);
- every float must be finite.
"""

from __future__ import annotations

import dataclasses
import math

from medganbench.errors import ConfigError

_AT_LEAST_ONE = ("latent_dim", "base_filters", "max_filters", "res_blocks", "n_critic", "depth", "patch_layers")
_POSITIVE = ("reconstruction_sigma",)
_NON_NEGATIVE = ("beta", "pool_size")
_UNIT_INTERVAL = ("beta_1", "beta_2", "label_smoothing")


def _bad(cfg, name: str, value, rule: str) -> ConfigError:
    return ConfigError(f"{type(cfg).__name__}.{name}={value!r}: {rule} (set it with --set {name}=VALUE).")


def check_config_values(cfg) -> None:
    """Raise :class:`ConfigError` naming the first field of ``cfg`` whose value is out of range."""
    for f in dataclasses.fields(cfg):
        name, v = f.name, getattr(cfg, f.name)
        if v is None or isinstance(v, (bool, str)):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise _bad(cfg, name, v, "must be a finite number")
        if name in _AT_LEAST_ONE and v < 1:
            raise _bad(cfg, name, v, "must be at least 1")
        if name.endswith("_units") and (not isinstance(v, (tuple, list)) or not v or min(v) < 1):
            raise _bad(cfg, name, v, "must be one or more layer widths, each at least 1")
        if (name.startswith("learning_rate") or name in _POSITIVE) and v <= 0:
            raise _bad(cfg, name, v, "must be greater than 0")
        if (name.endswith("_weight") or name in _NON_NEGATIVE) and v < 0:
            raise _bad(cfg, name, v, "must be 0 or more")
        if name in _UNIT_INTERVAL and not 0 <= v < 1:
            raise _bad(cfg, name, v, "must lie in [0, 1)")
