"""Generate images from a finished (or checkpointed) run folder.

``load_generator(run_dir)`` reloads ``generator.keras`` (plain Keras layers, no custom objects);
``generate_samples(run_dir, n)`` returns ``uint8`` images ready for ``medganbench.samples.save_samples``.
Notebook ``03_dcgan_medmnist.ipynb`` samples from its run this way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.runfolder import RunFolder


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
            raise MedGanBenchError(f"No generator.keras in {run}; the run did not finish.")
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
    from medganbench.data.pipeline import to_uint8
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
