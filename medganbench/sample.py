"""Moved: generating from a run folder now lives in :mod:`medganbench.samples` next to the samples file.

Kept so ``from medganbench.sample import generate_samples`` keeps working; use ``medganbench.samples``
(or ``mgb.generate``) in new code.
"""

from medganbench.samples import generate_samples, load_generator, parse_labels, run_info  # noqa: F401
