"""What pix2pix and CycleGAN share: building, translating in batches, grids, checkpoints, sizes.

A translation model owns Keras networks (``generators``/``discriminators`` dicts) and their
optimizers; ``train_step(batch)`` performs one update and returns flat float losses;
``translate(images)`` maps ``float32 [-1, 1] (N,H,W,C)`` through the forward generator.
Weights are saved with ``tf.train.Checkpoint`` (networks + optimizers, so training resumes exactly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class TranslationModel:
    config_class: type = object
    paired: bool = True

    def __init__(self, config=None, image_shape=(64, 64, 1), seed: int = 0):
        import keras

        from medganbench.runtime import configure_tensorflow

        configure_tensorflow()
        keras.utils.set_random_seed(seed)
        self.config = config if config is not None else self.config_class()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.seed = seed
        self._step_fn = None
        self.generators: dict = {}
        self.discriminators: dict = {}
        self.build()

    # -- to implement --
    def build(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def train_step(self, batch: dict) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared --
    @property
    def forward_generator(self):
        return next(iter(self.generators.values()))

    def translate(self, images, batch_size: int = 64) -> np.ndarray:
        """``float32 [-1, 1] (N,H,W,C)`` -> translated images, same shape and range (inference mode)."""
        images = np.asarray(images, dtype=np.float32)
        G = self.forward_generator
        out = [np.asarray(G(images[i:i + batch_size], training=False)) for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else images.copy()

    def grid_images(self, inputs, targets=None, max_rows: int = 8) -> np.ndarray:
        """A ``uint8 (rows*H, 3*W, C)`` montage: input | output | target side by side, one case per row.

        ``inputs``/``targets``: float ``[-1, 1]`` ``(N,H,W,C)``. For unpaired models the third
        column is the cycle reconstruction ``F(G(x))`` when ``targets`` is None.
        """
        from medganbench.data.pipeline import to_uint8

        x = np.asarray(inputs, np.float32)[:max_rows]
        y = self.translate(x)
        third = np.asarray(targets, np.float32)[:max_rows] if targets is not None else self.reconstruct(x)
        rows = [np.concatenate([a, b, c], axis=1) for a, b, c in zip(x, y, third)]
        return to_uint8(np.concatenate(rows, axis=0))

    def reconstruct(self, images) -> np.ndarray:
        """Cycle reconstruction (unpaired models); paired models have none."""
        raise NotImplementedError(f"{type(self).__name__} has no backward generator")

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: ``{"generator", "discriminator", "total"}`` (sums over both nets of CycleGAN)."""
        def count(models):
            return int(sum(int(np.prod(v.shape)) for m in models.values() for v in m.trainable_weights))

        g, d = count(self.generators), count(self.discriminators)
        return {"generator": g, "discriminator": d, "total": g + d}

    def _checkpoint(self):
        import tensorflow as tf

        objs = {**self.generators, **self.discriminators}
        for name in dir(self):
            if name.endswith("_optimizer"):
                objs[name] = getattr(self, name)
        return tf.train.Checkpoint(**objs)

    def save(self, directory: str | Path) -> Path:
        """Write networks + optimizer state under ``directory`` (returns the checkpoint prefix)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return Path(self._checkpoint().write(str(directory / "model")))

    def restore(self, directory: str | Path) -> None:
        """Load what :meth:`save` wrote; raises MedGanBenchError naming the folder if nothing is there."""
        from medganbench.errors import MedGanBenchError

        prefix = Path(directory) / "model"
        if not Path(str(prefix) + ".index").is_file():
            raise MedGanBenchError(f"No translation checkpoint in {directory} (expected {prefix}.index).")
        # Optimizer slots are created lazily; restore them when they are first used.
        self._checkpoint().read(str(prefix)).expect_partial()
