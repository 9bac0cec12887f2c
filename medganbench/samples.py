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


def save_samples(path: str | Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """Write a samples file atomically. ``images``: uint8 ``(N,H,W)``, ``(N,H,W,1)`` or ``(N,H,W,3)``."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise MedGanBenchError(f"samples must be uint8 images in [0, 255], got {images.dtype}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]  # MedMNIST stores grey images without a channel axis
    arrays = {"images": images}
    if labels is not None:
        labels = np.asarray(labels).reshape(len(labels), 1).astype(np.int64)
        if len(labels) != len(images):
            raise MedGanBenchError(f"{len(labels)} labels for {len(images)} images")
        arrays["labels"] = labels
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a samples file -> (images ``uint8 (N,H,W,C)``, labels ``int64 (N,1)`` or None).

    Raises :class:`MedGanBenchError` naming the file and the problem when it is malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise MedGanBenchError(f"No samples file at {path}.")
    try:
        with np.load(path) as npz:
            if "images" not in npz:
                raise MedGanBenchError(
                    f"{path} has no 'images' array (found: {', '.join(npz.files) or 'nothing'}); a samples "
                    f"file holds uint8 'images' and, for conditional models, 'labels'."
                )
            images = npz["images"]
            labels = npz["labels"] if "labels" in npz else None
    except (OSError, ValueError) as exc:
        raise MedGanBenchError(f"{path} is not a readable npz file: {exc}") from None
    if images.dtype != np.uint8:
        raise MedGanBenchError(f"{path}: 'images' must be uint8 in [0, 255], got {images.dtype}.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise MedGanBenchError(f"{path}: 'images' has shape {images.shape}; expected (N,H,W) or (N,H,W,C) with C=1 or 3.")
    if labels is not None:
        labels = np.asarray(labels).reshape(len(labels), -1).astype(np.int64)
        if len(labels) != len(images):
            raise MedGanBenchError(f"{path}: {len(labels)} labels for {len(images)} images.")
    return images, labels
