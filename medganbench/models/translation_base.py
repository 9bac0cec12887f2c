"""What pix2pix and CycleGAN share, on top of :class:`~medganbench.models.base.GANModel`.

They are trained by the same :class:`~medganbench.train.Trainer` as every other model (compiled
steps, atomic checkpoints, exact resume, logs, grids). Batches are ``{"inputs", "targets"}``
(``float32 [-1, 1]`` NHWC). Grids show input | output | target side by side (CycleGAN: input |
translation | cycle reconstruction); ``model.grid_inputs(n, seed, inputs=val_x, targets=val_y)`` gives
the Trainer (``Trainer(..., grid_inputs=...)``) real validation images to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medganbench.imageconv import model_input
from medganbench.models.base import GANModel


class TranslationModel(GANModel):
    paired: bool = True
    ema_networks: tuple[str, ...] = ()  # evaluated on the trained weights themselves
    forward: str = "generator"

    def check_batch(self, batch: dict) -> None:
        """Translation models train on ``{"inputs", "targets"}``; a generation batch gets a clear error."""
        if "inputs" not in batch or "targets" not in batch:
            from medganbench.errors import ConfigError

            raise ConfigError(f"{type(self).__name__} is a translation model and trains on (input, target) "
                              f"images, not on a generation data set (got keys {sorted(batch)}); use "
                              "`medganbench translate train --task ...`.")

    def translate(self, images, batch_size: int = 64) -> np.ndarray:
        """``float32 [-1, 1] (N,H,W,C)`` -> translated images, same shape and range (inference mode)."""
        images = model_input(images)
        G = self.networks[self.forward]
        out = [np.asarray(G(images[i:i + batch_size], training=False)) for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else images.copy()

    def reconstruct(self, images) -> np.ndarray:
        """Cycle reconstruction (unpaired models); paired models have none."""
        raise NotImplementedError(f"{type(self).__name__} has no backward generator")

    def grid_inputs(self, n: int, seed: int, inputs=None, targets=None) -> dict:
        """The grid's fixed cases: the first ``n`` of ``inputs``/``targets`` (uint8 or float ``[-1, 1]``
        NHWC); without images, a seeded random batch (it still shows what the network does)."""
        if inputs is None:
            rng = np.random.default_rng(seed)
            x = rng.uniform(-1, 1, (n,) + self.image_shape).astype(np.float32)
            return {"inputs": x, "targets": None}
        x = model_input(inputs)[:n]
        return {"inputs": x, "targets": None if targets is None else model_input(targets)[:n]}

    def grid_images(self, inputs: dict, networks: dict | None = None):
        """``float32 (N, H, 3W, C)``: input | output | target (unpaired: cycle reconstruction)."""
        x = inputs["inputs"]
        y = self.translate(x)
        third = inputs["targets"] if inputs.get("targets") is not None else (
            self.reconstruct(x) if not self.paired else np.zeros_like(x))
        return np.concatenate([x, y, third], axis=2)

    def grid_montage(self, inputs, targets=None, max_rows: int = 8) -> np.ndarray:
        """A ``uint8 (rows*H, 3*W, C)`` montage: one case per row (input | output | target or cycle)."""
        from medganbench.viz import grid_array

        g = self.grid_images({"inputs": model_input(inputs)[:max_rows],
                              "targets": None if targets is None else model_input(targets)[:max_rows]})
        return grid_array(g, ncols=1, pad=0)  # one case per row, no gaps

    def restore_weights(self, run_dir: str | Path) -> int:
        """Load the networks from the newest Trainer checkpoint in ``run_dir``; returns its step."""
        from medganbench import checkpoint

        return checkpoint.load_networks(run_dir, self.networks)
