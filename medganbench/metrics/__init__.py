"""Evaluation metrics for generated medical images. Importing this package is cheap (no TF, no torch).

Modules (import the one you need; each documents its API in its docstring):

- :mod:`medganbench.metrics.fidelity` - ``fidelity_from_features(real, fake, ...)``: FID with bootstrap
  CI and real-vs-real floor, KID, precision/recall/F-score, IS; computed by torch-fidelity in a worker.
- :mod:`medganbench.metrics.domain` - ``get_domain_extractor(dataset, size)``: the kit's own medical
  feature extractor (a VICReg encoder trained on the official training split; PneumoniaMNIST-28's
  weights ship with the package, others are trained on first use and cached) and
  ``reference_features(...)`` (cached real-split features). Training: :mod:`~medganbench.metrics.encoder`,
  :mod:`~medganbench.metrics.train_extractor` (deterministic, in a child process); identity:
  :mod:`~medganbench.metrics.weightfile` (hash of the weight arrays); :mod:`~medganbench.metrics.spectrum`
  (``effective_dim``).
- :mod:`medganbench.metrics.inception` - ``get_inception_extractor(weights)``: Inception-v3 with
  torch-fidelity's weights, or a fast ``WeightsUnavailable``.
- :mod:`medganbench.metrics.memorization` - ``memorization_report(...)``, ``closest_pairs_figure(...)``.
- :mod:`medganbench.metrics.augmentation` - ``augmentation_gain(...)``: real / real+synthetic /
  synthetic-only classifiers over low-data regimes and seeds.
- :mod:`medganbench.metrics.worker` - the only place torch and torch-fidelity are imported; it runs in
  its own process (:mod:`medganbench.metrics.client` talks to it).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "fidelity_from_features": "medganbench.metrics.fidelity",
    "FIDELITY_KEYS": "medganbench.metrics.fidelity",
    "get_domain_extractor": "medganbench.metrics.domain",
    "reference_features": "medganbench.metrics.domain",
    "get_inception_extractor": "medganbench.metrics.inception",
    "memorization_report": "medganbench.metrics.memorization",
    "closest_pairs_figure": "medganbench.metrics.memorization",
    "augmentation_gain": "medganbench.metrics.augmentation",
    "worker_session": "medganbench.metrics.client",
}

__all__ = ["FIDELITY_KEYS", "augmentation_gain", "closest_pairs_figure", "fidelity_from_features",
           "get_domain_extractor", "get_inception_extractor", "memorization_report", "reference_features",
           "worker_session"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'medganbench.metrics' has no attribute {name!r}")
