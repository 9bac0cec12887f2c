"""Extractor weights as plain arrays: save, load, and a hash of the arrays themselves.

A ``.keras`` file is a zip that stores its save date, so two byte-identical sets of weights got two
different sha256s and an honest result turned INVALID after a cache was cleared. The identity of an
extractor is therefore the hash of its weight ARRAYS: for every array in model order, its dtype, its
shape and its little-endian C-order bytes. Same arrays -> same hash, whatever file they came from.

Public API::

    weights_sha256(arrays) -> str            64 hex
    save_weights(path, arrays) -> str        writes an .npz (arr_000, arr_001, ...), returns the hash
    load_weights(path) -> list[np.ndarray]   in model order
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from medganbench.errors import ConfigError
from medganbench.io import atomic_path


def weights_sha256(arrays) -> str:
    """sha256 over ``(dtype, shape, bytes)`` of each array in order (a list of ``np.ndarray``)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_weights(path: str | Path, arrays) -> str:
    """Write ``arrays`` (model order) to an uncompressed ``.npz``; returns :func:`weights_sha256`."""
    arrays = [np.asarray(a) for a in arrays]
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **{f"arr_{i:03d}": a for i, a in enumerate(arrays)})
    return weights_sha256(arrays)


def load_weights(path: str | Path) -> list[np.ndarray]:
    """The arrays of a file written by :func:`save_weights`, in model order."""
    try:
        with np.load(path) as npz:
            names = sorted(npz.files)
            return [npz[n] for n in names]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable weights file ({exc}); delete it to retrain.") from exc
