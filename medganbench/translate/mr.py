"""T1-weighted MR slices from the shared DICOM series, as square uint8 images, split by slice blocks.

The MR tasks use ONE subject: the studyforrest T1w series in ``$MEDGANBENCH_DICOM/mr_datalad_t1w_deflated``
(384 slices of 384x274, 0.67 mm apart). With one subject there is no patient-level split, so the
split is by *contiguous slice blocks with a gap* along the volume (see :func:`block_split`): neighbouring
slices are nearly identical, so a random slice split would put near-copies of test slices in training.
Results on these tasks therefore measure generalisation to other slices of the same head, not to
other people; say so when quoting them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from medganbench.errors import DatasetUnavailable
from medganbench.imageconv import unit_to_uint8
from medganbench.settings import Settings

SERIES_FOLDER = "mr_datalad_t1w_deflated"
BLOCK = 24           # slices per block (16 mm)
GAP = 4              # slices dropped at the start of each block so blocks never touch (2.7 mm)
PATTERN = ("train", "train", "train", "val", "test")   # block i gets PATTERN[i % 5]
MIN_FOREGROUND = 0.05  # a slice must have >= 5 % of pixels above 10 % of the volume's 99.5th percentile


def resolve_dicom_root(dicom: str | os.PathLike | None = None, settings: Settings | None = None) -> Path:
    """The folder holding the DICOM test data: ``dicom``, else ``settings.dicom`` (``$MEDGANBENCH_DICOM``
    when no settings are given)."""
    value = dicom if dicom is not None else (settings or Settings.from_env()).dicom
    if not value:
        raise DatasetUnavailable(
            "The MR tasks need the DICOM folder: pass --dicom DIR or set MEDGANBENCH_DICOM "
            f"to the folder that holds {SERIES_FOLDER}/.")
    root = Path(value).expanduser()
    series = root / SERIES_FOLDER if (root / SERIES_FOLDER).is_dir() else root
    if not any(series.glob("*.dcm")):
        raise DatasetUnavailable(
            f"No DICOM files in {series}. Point --dicom/MEDGANBENCH_DICOM at the folder that holds "
            f"{SERIES_FOLDER}/ (or at the series folder itself).")
    return series


@functools.lru_cache(maxsize=4)
def _read_volume(series: str) -> np.ndarray:
    """All slices of the series as float32 ``(S, H, W)``, ordered along the slice normal.

    Uses :func:`medganbench.data.dicom.scan` / :func:`~medganbench.data.dicom.load_series`; the
    folder must hold exactly one image series (the T1w one).
    """
    from medganbench.data.dicom import load_series, scan
    from medganbench.errors import MedGanBenchError

    found = scan(series, recursive=False)
    if len(found.series) != 1:
        raise MedGanBenchError(f"{series} holds {len(found.series)} image series; the MR tasks expect the "
                               f"one T1w series of {SERIES_FOLDER}.")
    return load_series(found.series[0]).pixels


def _square(volume: np.ndarray) -> np.ndarray:
    """Zero-pad ``(S, H, W)`` to square (the background is zero), keeping the anatomy centred."""
    s, h, w = volume.shape
    n = max(h, w)
    out = np.zeros((s, n, n), dtype=volume.dtype)
    top, left = (n - h) // 2, (n - w) // 2
    out[:, top:top + h, left:left + w] = volume
    return out


def block_split(n_slices: int) -> dict[str, np.ndarray]:
    """Indices of the train/val/test slices: blocks of :data:`BLOCK` slices, first :data:`GAP` of each dropped.

    Block ``i`` goes to ``PATTERN[i % 5]`` (train, train, train, val, test), so every split sees
    slices from the whole head, and no two slices of different splits are closer than ``GAP``.
    """
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, start in enumerate(range(0, n_slices, BLOCK)):
        out[PATTERN[i % len(PATTERN)]].extend(range(start + GAP, min(start + BLOCK, n_slices)))
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


@functools.lru_cache(maxsize=4)
def _prepared(series: str, size: int) -> np.ndarray:
    """Every kept slice of the series, normalised, squared and resized: ``uint8 (S, size, size, 1)``."""
    from skimage.transform import resize

    volume = _read_volume(series)
    scale = float(np.percentile(volume, 99.5))
    volume = np.clip(volume / scale, 0.0, 1.0)
    keep = np.flatnonzero((volume > 0.1).mean(axis=(1, 2)) >= MIN_FOREGROUND)
    volume = _square(volume[keep])
    small = resize(volume, (len(volume), size, size), order=1, anti_aliasing=True, preserve_range=True)
    out = unit_to_uint8(small)[..., None]
    out.setflags(write=False)  # shared by every caller: copies are handed out
    return out


def load_mr_slices(split: str, size: int = 64, dicom=None) -> np.ndarray:
    """T1w MR slices of one split as ``uint8 (N, size, size, 1)`` in ``[0, 255]``.

    Intensities are scaled by the volume's 99.5th percentile (clipped above), slices are padded to
    square and resized with anti-aliasing. Near-empty slices (outside the head) are left out
    before the block split. The prepared stack is cached per process (series, size).
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    stack = _prepared(str(resolve_dicom_root(dicom)), int(size))
    return stack[block_split(len(stack))[split]].copy()
