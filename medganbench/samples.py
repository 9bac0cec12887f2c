"""Samples: generating images from a run folder, and the samples file, the kit's exchange format.

The samples file is an ``.npz`` with
- ``images``: ``uint8``, ``(N, H, W)`` for grey or ``(N, H, W, C)`` for colour, as MedMNIST stores images;
- ``labels`` (conditional models only): integer ``(N, 1)``, as MedMNIST stores labels.

Any tool or framework can write one (``numpy.savez``); ``medganbench eval`` reads it.

From a finished (or checkpointed) run: ``load_generator(run_dir)`` reloads ``generator.keras`` (plain Keras
layers, no custom objects); ``generate_samples(run_dir, n)`` returns ``uint8`` images ready for
:func:`save_samples` (``mgb.generate``). Notebook ``03_dcgan_medmnist.ipynb`` samples from its run this way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_path
from medganbench.labels import check_labels
from medganbench.npzread import read_npz
from medganbench.runfolder import RunFolder


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


# --- generating from a run folder ------------------------------------------------------------

def run_info(run_dir: str | Path) -> dict:
    """The finished run's ``run.json`` (one-line error when the run did not finish)."""
    return RunFolder(run_dir).info()


def load_generator(run_dir: str | Path, ema: bool = True):
    """The run's generator as a ``keras.Model``: ``z (B, latent) [, labels (B,)] -> float32 (B,H,W,C) [-1,1]``.

    ``ema=True`` gives the saved ``generator.keras`` (the EMA generator when the run kept one);
    ``ema=False`` rebuilds the model and loads the raw generator weights from the last checkpoint.
    """
    from medganbench import checkpoint
    from medganbench.runtime import configure_tensorflow

    run = RunFolder(run_dir)
    info = run.info()
    configure_tensorflow()
    if ema or not info.get("ema"):
        import keras

        path = run.generator_file
        if not path.is_file():
            raise MedGanBenchError(f"No generator.keras in {run}; the run did not finish. Finish it with "
                                   f"`medganbench train --out {run} --resume`.")
        return keras.models.load_model(path, compile=False)
    from medganbench.models import model_class

    cls = model_class(info["model"])
    model = cls(tuple(info["image_shape"]), info["num_classes"], run.model_config(cls.config_class))
    checkpoint.load_networks(run.path, {"generator": model.generator})
    return model.generator


def parse_labels(text: str | None) -> list[int] | None:
    """``"0,1"`` -> ``[0, 1]`` (for ``--labels``); None/empty -> None."""
    if not text:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise MedGanBenchError(f"--labels must be comma-separated integers like 0,1; got {text!r}") from None


def generate_samples(run_dir: str | Path, n: int, labels=None, seed: int = 0, batch_size: int = 256,
                     ema: bool = True):
    """``n`` generated images -> ``(uint8 (n,H,W,C), labels int64 (n,1) or None)``.

    labels (conditional runs): None = drawn with the training set's class balance; a list of classes
    = cycled through in order (``[0, 1]`` -> 0,1,0,1,...); an array of length ``n`` = used as given.
    """
    from medganbench.imageconv import to_uint8
    from medganbench.models.noise_gan import generate_with

    if n < 1:
        raise MedGanBenchError(f"n must be >= 1, got {n}")
    info = run_info(run_dir)
    generator = load_generator(run_dir, ema=ema)
    noise = np.random.default_rng(seed).standard_normal((n, info["latent_dim"])).astype(np.float32)
    out_labels = None
    if info.get("conditional"):
        k = int(info["num_classes"])
        if labels is None:
            from medganbench.labels import class_balanced_labels

            out_labels = class_balanced_labels(info["class_counts"], n, seed + 1)
        else:
            labels = np.asarray(labels, dtype=np.int64).reshape(-1)
            out_labels = (labels if len(labels) == n else np.resize(labels, n)).reshape(n, 1)
        bad = out_labels[(out_labels < 0) | (out_labels >= k)]
        if bad.size:
            raise MedGanBenchError(f"label {int(bad[0])} is outside this run's classes 0..{k - 1}")
    elif labels is not None:
        raise MedGanBenchError(f"{run_dir} holds an unconditional {info['model']}; it takes no labels.")
    images = generate_with(generator, noise, None if out_labels is None else out_labels[:, 0].astype(np.int32),
                           batch_size)
    return to_uint8(images), out_labels
