"""Translation tasks, each defined by how it builds (input, target) images from real data.

| task | data | input | target | split |
|---|---|---|---|---|
| ``denoise-mr`` | T1w MR slices (one subject, DICOM) | + Rician noise, sigma = 0.05 | clean slice | slice blocks with a gap |
| ``denoise-xray`` | PneumoniaMNIST 28 px | + Poisson-Gaussian noise, peak 40, sigma 0.02 | clean X-ray | official train/val/test |
| ``superres-mr`` | T1w MR slices, 64 px (or 128) | x4 anti-aliased down-sample, bicubic back up | slice | slice blocks with a gap |
| ``pneumonia-to-normal`` | PneumoniaMNIST 28 px | pneumonia X-rays (label 1) | normal X-rays (label 0), *unpaired* | official |

Noise levels are relative to the image range ``[0, 1]`` (MR: the volume's 99.5th percentile maps
to 1). Rician noise is what a magnitude MR image shows: ``|x + n1 + i n2|`` with ``n1, n2 ~ N(0, sigma)``.
Poisson-Gaussian noise is the usual X-ray detector model: photon counting (``Poisson(peak * x) / peak``,
peak = 40 expected photons at full brightness) plus Gaussian read-out noise. Both are clipped to
``[0, 1]`` and quantised to uint8, like every image at the edges of the kit.

The noise of the **val and test** pairs uses a fixed seed per task (every run is scored on the same
noisy images); training pairs use the run's seed. Test images never enter training: the X-ray
tasks use MedMNIST's official splits, the MR tasks :func:`medganbench.translate.mr.block_split`.

Notebook 07 (``notebooks/07_image_translation.ipynb``) builds these pairs and shows them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from medganbench.errors import ConfigError
from medganbench.imageconv import to_unit, unit_to_uint8

RICIAN_SIGMA = 0.05
POISSON_PEAK = 40.0
READOUT_SIGMA = 0.02
SUPERRES_FACTOR = 4


@dataclass
class PairSet:
    """Images of one split of a translation task.

    inputs: ``uint8 (N, H, W, 1)`` in ``[0, 255]``: what the generator sees (noisy / low-resolution /
    domain A).  targets: ``uint8 (M, H, W, 1)``: the clean / high-resolution image for paired tasks
    (``M == N``, row ``i`` belongs to input ``i``); domain B images for unpaired tasks (``M != N`` in general).
    """

    task: str
    split: str
    inputs: np.ndarray
    targets: np.ndarray
    paired: bool
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


@dataclass(frozen=True)
class Task:
    name: str
    paired: bool
    source: str              # "mr" or "pneumoniamnist"
    default_size: int
    summary: str
    default_model: str
    build: Callable[..., PairSet]


# --- noise and degradation models (float images in [0, 1]) -------------------------------------

def add_rician_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the clean image plus complex Gaussian noise: ``sqrt((x + n1)^2 + n2^2)``, ``n ~ N(0, sigma)``.

    clean: float in ``[0, 1]``, any shape. Returns float64, same shape, clipped to ``[0, 1]``.
    In the background (x = 0) this is Rayleigh noise with mean ``sigma * sqrt(pi / 2)``, which is
    why magnitude MR backgrounds are never black and why a zero-mean denoiser is biased there.
    """
    x = np.asarray(clean, dtype=np.float64)
    noisy = np.hypot(x + rng.normal(0.0, sigma, x.shape), rng.normal(0.0, sigma, x.shape))
    return np.clip(noisy, 0.0, 1.0)


def add_poisson_gaussian_noise(clean: np.ndarray, peak: float, sigma: float,
                               rng: np.random.Generator) -> np.ndarray:
    """Photon counting plus read-out noise: ``Poisson(peak * x) / peak + N(0, sigma)``, clipped to ``[0, 1]``.

    clean: float in ``[0, 1]``. The noise variance is ``x / peak + sigma^2``: brighter pixels are
    noisier in absolute terms, as on a real detector.
    """
    x = np.asarray(clean, dtype=np.float64)
    noisy = rng.poisson(x * peak) / peak + rng.normal(0.0, sigma, x.shape)
    return np.clip(noisy, 0.0, 1.0)


def downsample(clean: np.ndarray, factor: int = SUPERRES_FACTOR) -> np.ndarray:
    """Anti-aliased down-sampling of ``(N, H, W, 1)`` float images by ``factor`` (Gaussian pre-filter)."""
    from skimage.transform import resize

    n, h, w, c = clean.shape
    return resize(clean, (n, h // factor, w // factor, c), order=1, anti_aliasing=True, preserve_range=True)


def upsample_bicubic(small: np.ndarray, size: int) -> np.ndarray:
    """Bicubic up-sampling of ``(N, h, w, 1)`` float images to ``(N, size, size, 1)``, clipped to ``[0, 1]``."""
    from skimage.transform import resize

    n, _, _, c = small.shape
    return np.clip(resize(small, (n, size, size, c), order=3, anti_aliasing=False, preserve_range=True), 0, 1)


def noise_rng(task: str, split: str, seed: int) -> np.random.Generator:
    """Noise generator: fixed per (task, split) for val/test, the run's ``seed`` for train."""
    key = zlib.crc32(f"{task}/{split}".encode())
    return np.random.default_rng([key, seed if split == "train" else 0])


# --- pair builders ------------------------------------------------------------------------------

def _limit(x: np.ndarray, limit: int | None) -> np.ndarray:
    return x if limit is None else x[:limit]


def _xray(split: str, data_root, label: int | None = None) -> np.ndarray:
    from medganbench.data import load_dataset

    ds = load_dataset("pneumoniamnist", split=split, size=28, root=data_root)
    images = ds.images if ds.images.ndim == 4 else ds.images[..., None]
    if label is not None:
        images = images[ds.labels[:, 0] == label]
    return images


def _mr(split: str, size: int, dicom) -> np.ndarray:
    from medganbench.translate.mr import load_mr_slices

    return load_mr_slices(split, size=size, dicom=dicom)


def build_denoise_mr(split: str, *, size: int = 64, seed: int = 0, dicom=None, data_root=None,
                     limit: int | None = None) -> PairSet:
    clean = _limit(_mr(split, size, dicom), limit)
    noisy = add_rician_noise(to_unit(clean), RICIAN_SIGMA, noise_rng("denoise-mr", split, seed))
    return PairSet("denoise-mr", split, unit_to_uint8(noisy), clean, True,
                   {"noise": "rician", "sigma": RICIAN_SIGMA, "size": size})


def build_denoise_xray(split: str, *, size: int = 28, seed: int = 0, dicom=None, data_root=None,
                       limit: int | None = None) -> PairSet:
    if size != 28:
        raise ConfigError(f"denoise-xray uses PneumoniaMNIST at 28 px; got size={size}.")
    clean = _limit(_xray(split, data_root), limit)
    noisy = add_poisson_gaussian_noise(to_unit(clean), POISSON_PEAK, READOUT_SIGMA,
                                       noise_rng("denoise-xray", split, seed))
    return PairSet("denoise-xray", split, unit_to_uint8(noisy), clean, True,
                   {"noise": "poisson-gaussian", "peak": POISSON_PEAK, "sigma": READOUT_SIGMA, "size": 28})


def build_superres_mr(split: str, *, size: int = 64, seed: int = 0, dicom=None, data_root=None,
                      limit: int | None = None) -> PairSet:
    if size % SUPERRES_FACTOR:
        raise ConfigError(f"superres-mr needs a size divisible by {SUPERRES_FACTOR}; got {size}.")
    clean = _limit(_mr(split, size, dicom), limit)
    low = downsample(to_unit(clean))
    return PairSet("superres-mr", split, unit_to_uint8(upsample_bicubic(low, size)), clean, True,
                   {"factor": SUPERRES_FACTOR, "low_size": size // SUPERRES_FACTOR, "size": size,
                    "input": "bicubic up-sampling of the anti-aliased x4 down-sample"})


def build_pneumonia_to_normal(split: str, *, size: int = 28, seed: int = 0, dicom=None, data_root=None,
                              limit: int | None = None) -> PairSet:
    if size != 28:
        raise ConfigError(f"pneumonia-to-normal uses PneumoniaMNIST at 28 px; got size={size}.")
    pneumonia = _limit(_xray(split, data_root, label=1), limit)
    normal = _limit(_xray(split, data_root, label=0), limit)
    return PairSet("pneumonia-to-normal", split, pneumonia, normal, False,
                   {"domain_a": "pneumonia (label 1)", "domain_b": "normal (label 0)", "size": 28})


TASKS: dict[str, Task] = {
    t.name: t for t in [
        Task("denoise-mr", True, "mr", 64, "Remove Rician noise (sigma 0.05) from T1w MR slices.", "pix2pix",
             build_denoise_mr),
        Task("denoise-xray", True, "pneumoniamnist", 28,
             "Remove Poisson-Gaussian noise (peak 40, sigma 0.02) from chest X-rays.", "pix2pix", build_denoise_xray),
        Task("superres-mr", True, "mr", 64, "x4 super-resolution of T1w MR slices (16 -> 64 px).", "pix2pix",
             build_superres_mr),
        Task("pneumonia-to-normal", False, "pneumoniamnist", 28,
             "Unpaired pneumonia -> normal chest X-ray (counterfactual), CycleGAN.", "cyclegan",
             build_pneumonia_to_normal),
    ]
}


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
    if name not in TASKS:
        import difflib

        close = difflib.get_close_matches(name, list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown translation task {name!r}.{hint} Known: {', '.join(TASKS)}.")
    return TASKS[name]


def build_pairs(task: str, split: str, *, size: int | None = None, seed: int = 0, dicom=None,
                data_root=None, limit: int | None = None) -> PairSet:
    """Build the ``split`` (train/val/test) images of ``task``; see the module table for what each task does.

    size: image side (MR tasks: 64 or 128; X-ray tasks: 28). dicom: DICOM folder for MR tasks
    (else ``$MEDGANBENCH_DICOM``). data_root: MedMNIST folder (else ``$MEDGANBENCH_DATA``).
    limit: keep only the first ``limit`` images (quick runs, tests).
    """
    t = get_task(task)
    if split not in ("train", "val", "test"):
        raise ConfigError(f"split must be train, val or test, got {split!r}.")
    return t.build(split, size=size or t.default_size, seed=seed, dicom=dicom, data_root=data_root, limit=limit)
