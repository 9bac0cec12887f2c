"""Fidelity metrics from features: FID (with bootstrap CI and real-vs-real floor), KID, precision/recall, IS.

TensorFlow-free and torch-free: the numbers are computed in the metrics worker
(:mod:`medganbench.metrics.worker`) by torch-fidelity's own feature-level functions, so a notebook
that trained with TensorFlow can call this safely. Taught in ``notebooks/05_evaluating_gans.ipynb``.

Public API::

    fidelity_from_features(real_features, fake_features, *, heldout_features=None, fake_logits=None,
                           kid_subset_size=None, kid_subsets=100, prc_neighborhood=3,
                           bootstrap=100, seed=0, fid_min_samples_per_dim=2.0) -> dict
    fid_min_samples(feature_dim, fid_min_samples_per_dim=2.0) -> int
    FIDELITY_KEYS   # the constant keys of the dict above

Features: ``float`` arrays ``(N, D)`` from one extractor (domain or Inception). ``real_features``
is the reference set (e.g. the training split), ``heldout_features`` real images the generator never
saw (e.g. the test split) used for the real-vs-real floor.

Honesty rules (why the dict looks the way it does):

* FID is biased upwards with few samples and needs a full-rank covariance estimate. When either set
  has fewer than ``fid_min_samples_per_dim × D`` images, ``fid`` is ``None`` and ``fid_reason`` says
  why; KID (unbiased) and precision/recall are still reported.
* ``fid_ci_low``/``fid_ci_high``: 2.5/97.5 percentiles of FID over ``bootstrap`` resamples (with
  replacement) of both sets, shifted by the bootstrap's own bias (duplicated images raise FID), so the
  interval is centred on ``fid``. It shows sampling spread, not FID's small-sample bias.
* ``fid_floor``: FID of held-out REAL images against the same reference, at ``fid_floor_n`` =
  min(#generated, #held-out) images; ``fid_at_floor_n`` is the generated set's FID at that same n, the
  fair comparison. A generator cannot be expected to beat the floor.
* KID's subset size is never larger than either set (``min(1000, n_real, n_fake)`` by default).
"""

from __future__ import annotations

import math

import numpy as np

from medganbench.errors import ConfigError

FIDELITY_KEYS = (
    "fid", "fid_ci_low", "fid_ci_high", "fid_bootstrap", "fid_reason",
    "fid_floor", "fid_at_floor_n", "fid_floor_n", "fid_floor_reason",
    "kid_mean", "kid_std", "kid_subset_size", "kid_subsets",
    "precision", "recall", "f_score", "prc_neighborhood",
    "isc_mean", "isc_std",
    "n_real", "n_fake", "n_heldout", "feature_dim", "seed",
)

#: torch-fidelity's default KID subset size, used whenever both sets are at least this large.
KID_SUBSET_SIZE = 1000


def fid_min_samples(feature_dim: int, fid_min_samples_per_dim: float = 2.0) -> int:
    """Fewest images per set for which the kit reports FID with ``feature_dim``-dimensional features."""
    return int(math.ceil(fid_min_samples_per_dim * feature_dim))


def _as_features(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D (N, D) feature array, got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"{name} contains NaN or infinite values; check the feature extractor's input.")
    return x


def fidelity_from_features(real_features, fake_features, *, heldout_features=None, fake_logits=None,
                           kid_subset_size: int | None = None, kid_subsets: int = 100,
                           prc_neighborhood: int = 3, bootstrap: int = 100, seed: int = 0,
                           fid_min_samples_per_dim: float = 2.0, timeout: float | None = None) -> dict:
    """FID, KID, precision/recall/F-score (and Inception Score from ``fake_logits``) -> flat dict.

    real_features: ``(N_real, D)`` reference features (e.g. training split).
    fake_features: ``(N_fake, D)`` generated-image features from the same extractor.
    heldout_features: optional ``(N_heldout, D)`` real images not used as reference -> ``fid_floor``.
    fake_logits: optional ``(N_fake, 1008)`` Inception logits -> ``isc_mean``/``isc_std``.
    Returns a dict with exactly :data:`FIDELITY_KEYS`; values not computed are ``None`` with a reason.
    """
    real = _as_features("real_features", real_features)
    fake = _as_features("fake_features", fake_features)
    heldout = None if heldout_features is None else _as_features("heldout_features", heldout_features)
    dim = real.shape[1]
    for name, x in (("fake_features", fake), ("heldout_features", heldout)):
        if x is not None and x.shape[1] != dim:
            raise ConfigError(f"{name} has {x.shape[1]} feature dims but real_features has {dim}; "
                              f"both must come from the same extractor.")
    n_real, n_fake = len(real), len(fake)
    smallest = min(n_real, n_fake)
    if smallest < max(2, prc_neighborhood + 1):
        raise ConfigError(f"Need at least {max(2, prc_neighborhood + 1)} images per set for KID and "
                          f"precision/recall (got {n_real} real, {n_fake} generated).")
    kid_m = min(int(kid_subset_size or KID_SUBSET_SIZE), smallest)
    if kid_m < 2:
        raise ConfigError(f"kid_subset_size={kid_subset_size} must be at least 2.")

    n_min = fid_min_samples(dim, fid_min_samples_per_dim)
    fid_reason = None
    if smallest < n_min:
        fid_reason = (f"FID not reported: {smallest} images in the smaller set < {n_min} "
                      f"({fid_min_samples_per_dim:g} x {dim} feature dims); with so few samples the covariance "
                      f"estimate is unstable and FID is dominated by its bias. Use KID and precision/recall.")
    floor_reason = None
    compute_floor = heldout is not None
    if heldout is None:
        floor_reason = "no held-out real features given"
    else:
        n_floor = min(n_fake, len(heldout))
        if n_floor < n_min or n_real < n_min:
            floor_reason = (f"real-vs-real floor not reported: {n_floor} held-out/generated images < {n_min} "
                            f"needed for a stable FID at {dim} dims.")
            compute_floor = False

    from medganbench.metrics.client import DEFAULT_TIMEOUT_S, call_worker

    result = call_worker(
        "fidelity",
        arrays={"real": real, "fake": fake, "heldout": heldout if compute_floor else None,
                "fake_logits": None if fake_logits is None else np.asarray(fake_logits, dtype=np.float64)},
        args={"compute_fid": fid_reason is None, "compute_floor": compute_floor,
              "bootstrap": int(bootstrap) if fid_reason is None else 0, "seed": int(seed),
              "kid_subset_size": kid_m, "kid_subsets": int(kid_subsets),
              "prc_neighborhood": int(prc_neighborhood)},
        timeout=timeout or DEFAULT_TIMEOUT_S,
    )
    boots = np.asarray(result.get("fid_bootstrap_values") or [], dtype=np.float64)
    if len(boots) >= 2:
        # Resampling with replacement duplicates images, which alone raises FID; remove that
        # bootstrap bias so the interval is centred on the point estimate (bias-corrected percentile).
        boots = boots - (boots.mean() - result["fid"])
    out = dict.fromkeys(FIDELITY_KEYS)
    out.update(
        fid=result.get("fid"),
        fid_ci_low=float(np.percentile(boots, 2.5)) if len(boots) >= 2 else None,
        fid_ci_high=float(np.percentile(boots, 97.5)) if len(boots) >= 2 else None,
        fid_bootstrap=len(boots),
        fid_reason=fid_reason,
        fid_floor=result.get("fid_floor"),
        fid_at_floor_n=result.get("fid_at_floor_n"),
        fid_floor_n=result.get("fid_floor_n"),
        fid_floor_reason=floor_reason,
        kid_mean=result["kid_mean"], kid_std=result["kid_std"], kid_subset_size=kid_m,
        kid_subsets=int(kid_subsets),
        precision=result["precision"], recall=result["recall"], f_score=result["f_score"],
        prc_neighborhood=int(prc_neighborhood),
        isc_mean=result.get("isc_mean"), isc_std=result.get("isc_std"),
        n_real=n_real, n_fake=n_fake, n_heldout=None if heldout is None else len(heldout),
        feature_dim=int(dim), seed=int(seed),
    )
    return out
