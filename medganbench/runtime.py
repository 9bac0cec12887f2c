"""Process-level switches shared by the package, the CLI and the notebooks.

``MEDGANBENCH_SMOKE=1`` makes every notebook and long command run a shrunken version of the
same code (few steps, few samples) so the test suite can execute all of them quickly. These helpers are
the notebooks' edge: they read it through :class:`medganbench.settings.Settings`, the one parser.
"""

from __future__ import annotations

import os
from typing import TypeVar

from medganbench.settings import Settings

T = TypeVar("T")


def is_smoke(settings: Settings | None = None) -> bool:
    """True in smoke mode: ``settings.smoke``, else ``MEDGANBENCH_SMOKE`` set to ``1``/``true``/``yes``/``on``."""
    return (settings or Settings.from_env()).smoke


def smoke(full: T, small: T, settings: Settings | None = None) -> T:
    """Return ``small`` in smoke mode and ``full`` otherwise (notebook parameters use this)."""
    return small if is_smoke(settings) else full


def configure_tensorflow(memory_growth: bool = True, quiet: bool = True) -> None:
    """Import TensorFlow with sane defaults: GPU memory growth on, so torch can still get memory.

    Call before any model is built. Safe to call more than once.
    """
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if memory_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                # Already initialised: growth can only be set before first use; nothing to do.
                pass
