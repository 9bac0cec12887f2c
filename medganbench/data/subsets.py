"""Seeded, stratified low-data subsets of a data set (for the augmentation-gain benchmark).

``subset(ds, fraction=0.05)`` keeps 5 % of every class; ``subset(ds, per_class=50)`` keeps 50
images of every class. Every class present in ``ds`` stays present (at least one image each).
For one seed the subsets are nested: the 1 % subset is contained in the 5 % subset, which is
contained in the 10 % subset, so a benchmark over fractions compares like with like.

Multi-label sets (ChestMNIST) are stratified on their first label column only; the card says so.
"""

from __future__ import annotations

import math

import numpy as np

from medganbench.data.medmnist import Dataset
from medganbench.errors import ConfigError

#: The fractions the augmentation benchmark uses.
BENCHMARK_FRACTIONS = (0.01, 0.05, 0.10, 1.0)


def subset_indices(labels: np.ndarray, fraction: float | None = None, per_class: int | None = None,
                   seed: int = 0) -> np.ndarray:
    """Indices (sorted ascending, ``int64``) of a stratified subset of ``labels`` (``(N,)`` or ``(N, L)``).

    Exactly one of ``fraction`` (in ``(0, 1]``; ``round(fraction * n_c)`` per class, at least 1) or
    ``per_class`` (``>= 1``; a class with fewer images keeps all of them) must be given.
    """
    if (fraction is None) == (per_class is None):
        raise ConfigError("Give exactly one of fraction= or per_class= to subset().")
    if fraction is not None and not (0.0 < float(fraction) <= 1.0):
        raise ConfigError(f"fraction={fraction!r} must be in (0, 1], e.g. 0.01 for 1 %.")
    if per_class is not None and int(per_class) < 1:
        raise ConfigError(f"per_class={per_class!r} must be at least 1.")
    labels = np.asarray(labels)
    strata = labels.reshape(len(labels), -1)[:, 0] if labels.ndim > 1 else labels
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(strata):
        members = np.flatnonzero(strata == cls)
        # One permutation per class, then a prefix of it: prefixes of one permutation are nested.
        order = rng.permutation(members)
        if fraction is not None:
            k = max(1, int(math.floor(float(fraction) * len(members) + 0.5)))
        else:
            k = int(per_class)
        chosen.append(order[: min(k, len(members))])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def subset(ds: Dataset, fraction: float | None = None, per_class: int | None = None, seed: int = 0) -> Dataset:
    """A seeded, stratified subset of ``ds`` (images stay ``uint8 (n, H, W, C)``, labels ``(n, L)``).

    The card records how it was made under ``card["subset"]`` (fraction or per_class, seed, size of
    the parent split, the column stratified on).
    """
    idx = subset_indices(ds.labels, fraction=fraction, per_class=per_class, seed=seed)
    card = dict(ds.card)
    multi_label = ds.labels.ndim > 1 and ds.labels.shape[1] > 1
    card["subset"] = {
        "fraction": None if fraction is None else float(fraction),
        "per_class": None if per_class is None else int(per_class),
        "seed": int(seed),
        "n": len(idx),
        "parent_n": len(ds),
        "stratified_on": "first label column (multi-label set)" if multi_label else "class label",
    }
    return Dataset(images=ds.images[idx], labels=ds.labels[idx], card=card, split=ds.split)
