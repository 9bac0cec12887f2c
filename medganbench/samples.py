"""The samples file: the kit's exchange format for generated images.

An ``.npz`` with
- ``images``: ``uint8``, ``(N, H, W)`` for grey or ``(N, H, W, C)`` for colour, as MedMNIST stores images;
- ``labels`` (conditional models only): integer ``(N, 1)``, as MedMNIST stores labels.

Any tool or framework can write one (``numpy.savez``); ``medganbench eval`` reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_path
from medganbench.labels import check_labels
from medganbench.npzread import read_npz


def save_samples(path: str | Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """Write a samples file atomically. ``images``: uint8 ``(N,H,W)``, ``(N,H,W,1)`` or ``(N,H,W,3)``."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise MedGanBenchError(f"samples must be uint8 images in [0, 255], got {images.dtype}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]  # MedMNIST stores grey images without a channel axis
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = check_labels(labels, len(images), "save_samples")
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_samples(path: str | Path, *, num_classes: int | None = None,
                 min_count: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a samples file -> (images ``uint8 (N,H,W,C)``, labels ``int64 (N,1)`` or None).

    Everything is checked before any work, and a problem raises :class:`MedGanBenchError` naming the
    file: not an npz, damaged or crafted headers (:mod:`medganbench.npzread`), images that are not
    uint8 ``(N,H,W[,C])`` with ``C`` in 1, 3, fewer than ``min_count`` images, and labels that are not
    integral class numbers ``(N, 1)`` in ``0..num_classes-1`` (:func:`check_labels`).
    """
    path = Path(path)
    if not path.is_file():
        raise MedGanBenchError(f"No samples file at {path}.")
    try:
        arrays = read_npz(path, ["images"], optional=["labels"])
    except KeyError as exc:
        raise MedGanBenchError(f"{exc}; a samples file holds uint8 'images' and, for conditional models, "
                               f"'labels'.") from None
    images, labels = arrays["images"], arrays.get("labels")
    if images.dtype != np.uint8:
        raise MedGanBenchError(f"{path}: 'images' must be uint8 in [0, 255], got {images.dtype}.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise MedGanBenchError(f"{path}: 'images' has shape {images.shape}; expected (N,H,W) or (N,H,W,C) with C=1 or 3.")
    if len(images) < min_count:
        raise MedGanBenchError(f"{path} holds {len(images)} image(s); at least {min_count} are needed.")
    if labels is not None:
        labels = check_labels(labels, len(images), str(path), num_classes=num_classes)
    return images, labels
