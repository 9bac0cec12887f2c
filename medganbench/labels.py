"""Class labels from outside (samples files, data set files): checked, never coerced silently.

A float label 0.9 cast to int would become class 0, NaN would become INT64_MIN, and a second column
would be dropped without a word; :func:`check_labels` refuses each of these with a one-line reason.
"""

from __future__ import annotations

import numpy as np

from medganbench.errors import MedGanBenchError


def check_labels(labels, n: int, source: str, num_classes: int | None = None, columns: int | None = 1) -> np.ndarray:
    """Check class labels before any work -> ``int64 (N, L)`` (``L = columns``; ``(N,)`` counts as ``(N, 1)``).

    Refuses, naming ``source`` and the problem (never coerces silently): non-numeric dtypes, a length
    other than ``n``, another column count (``columns=None`` allows any), NaN/inf, non-integral values
    (0.9 is not class 0), negatives, and values ``>= num_classes`` when it is given.
    """
    arr = np.asarray(labels)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise MedGanBenchError(f"{source}: labels must be integer class numbers, got dtype {arr.dtype}.")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or len(arr) != n or (columns is not None and arr.shape[1] != columns):
        want = f"({n}, {columns})" if columns is not None else f"({n}, L)"
        raise MedGanBenchError(f"{source}: labels have shape {arr.shape}; expected {want}, one class number per image.")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise MedGanBenchError(f"{source}: labels contain NaN or infinity; give one integer class per image.")
        frac = arr != np.round(arr)
        if frac.any():
            raise MedGanBenchError(f"{source}: label {arr[frac][0]!r} is not a whole number; labels are class numbers "
                                   "(0, 1, ...), not probabilities.")
        if arr.size and np.abs(arr).max() >= 2**53:
            raise MedGanBenchError(f"{source}: labels up to {np.abs(arr).max():g} are not class numbers.")
    elif arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise MedGanBenchError(f"{source}: label {arr.max()} is not a class number.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise MedGanBenchError(f"{source}: label {int(arr.min())} is negative; classes are numbered from 0.")
    if num_classes is not None and arr.size and arr.max() >= num_classes:
        raise MedGanBenchError(f"{source}: label {int(arr.max())} is outside the classes 0..{num_classes - 1}.")
    return arr



def class_counts(labels) -> dict[int, int]:
    """``{class: count}`` of integer labels ``(N,)`` / ``(N, 1)`` (first column of multi-column labels)."""
    lab = np.asarray(labels).reshape(len(labels), -1)[:, 0]
    classes, counts = np.unique(lab, return_counts=True)
    return {int(c): int(k) for c, k in zip(classes, counts)}


def class_balanced_labels(counts, n: int, seed: int = 0) -> np.ndarray:
    """``n`` labels ``int64 (n, 1)`` in the proportions of ``counts``, in a seeded random order.

    counts: ``{class: count}`` (keys may be strings, as in ``run.json``; see :func:`class_counts`), or the
    training labels themselves. The number of each class is exact up to rounding (largest remainder), so
    a conditional generator is asked for the training set's class balance, not a random draw around it.
    """
    if not isinstance(counts, dict):
        counts = class_counts(counts)
    classes = np.array([int(c) for c in counts], dtype=np.int64)
    weights = np.array([float(counts[c]) for c in counts], dtype=np.float64)
    if n < 0 or not len(classes) or weights.sum() <= 0:
        raise MedGanBenchError(f"class_balanced_labels needs n >= 0 and positive class counts, got n={n}, {counts}")
    exact = weights / weights.sum() * n
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n - int(take.sum())]:
        take[i] += 1
    out = np.repeat(classes, take)
    np.random.default_rng(seed).shuffle(out)
    return out.reshape(n, 1)
