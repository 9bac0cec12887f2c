"""pix2pix: paired image-to-image translation with a U-Net generator and a PatchGAN discriminator.

Isola, Zhu, Zhou & Efros (2017), "Image-to-Image Translation with Conditional Adversarial
Networks", CVPR. The generator maps an input image ``x`` (noisy, low-resolution) to ``G(x)``;
the discriminator sees ``(x, y)`` or ``(x, G(x))`` stacked along channels and judges each
patch (receptive field: :func:`medganbench.models.translation_blocks.patchgan_receptive_field`).
Loss: adversarial + ``l1_weight * |G(x) - y|`` (:mod:`medganbench.models.translation_losses`).

Notebook 07 (``notebooks/07_image_translation.ipynb``) teaches it. Images are ``float32`` in
``[-1, 1]``, NHWC; batches are dicts ``{"inputs": (B,H,W,C), "targets": (B,H,W,C)}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from medganbench.models.translation_base import TranslationModel


@dataclass
class Pix2PixConfig:
    base_filters: int = field(default=32, metadata={"help": "filters of the first generator/discriminator layer"})
    depth: Optional[int] = field(default=None, metadata={"help": "U-Net stride-2 levels (default: as many as fit)"})
    patch_layers: Optional[int] = field(default=None, metadata={
        "help": "PatchGAN stride-2 layers: 1 -> 16 px, 2 -> 34 px, 3 -> 70 px receptive field (default: by size)"})
    l1_weight: float = field(default=100.0, metadata={"help": "weight of the L1 term (Isola et al.: 100)"})
    adversarial_weight: float = field(default=1.0, metadata={"help": "weight of the adversarial term (0: L1 only)"})
    residual: bool = field(default=True, metadata={"help": "generator predicts a correction added to its input"})
    learning_rate: float = field(default=2e-4, metadata={"help": "Adam learning rate (both nets)"})
    beta_1: float = field(default=0.5, metadata={"help": "Adam beta_1"})


class Pix2Pix(TranslationModel):
    """pix2pix (Isola et al., 2017). ``image_shape``: ``(H, W, C)`` of inputs and targets."""

    config_class = Pix2PixConfig
    paired = True

    def build(self) -> None:
        import keras

        from medganbench.models.translation_blocks import patchgan_discriminator, unet_generator

        h, _, c = self.image_shape
        cfg = self.config
        self.generator = unet_generator(h, c, cfg.base_filters, cfg.depth, cfg.residual)
        self.discriminator = patchgan_discriminator(h, 2 * c, cfg.base_filters, cfg.patch_layers)
        self.generator_optimizer = keras.optimizers.Adam(cfg.learning_rate, beta_1=cfg.beta_1)
        self.discriminator_optimizer = keras.optimizers.Adam(cfg.learning_rate, beta_1=cfg.beta_1)
        self.generators = {"generator": self.generator}
        self.discriminators = {"discriminator": self.discriminator}

    def _make_train_step(self):
        import tensorflow as tf

        from medganbench.models.translation_losses import (pix2pix_discriminator_loss,
                                                            pix2pix_generator_loss)

        cfg = self.config
        G, D = self.generator, self.discriminator
        use_adv = cfg.adversarial_weight > 0

        @tf.function
        def step(inputs, targets):
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake = G(inputs, training=True)
                fake_logits = D(tf.concat([inputs, fake], -1), training=True) if use_adv else tf.zeros((1, 1, 1, 1))
                g_total, g_adv, l1 = pix2pix_generator_loss(fake_logits, fake, targets, cfg.l1_weight,
                                                            cfg.adversarial_weight)
                if use_adv:
                    real_logits = D(tf.concat([inputs, targets], -1), training=True)
                    d_loss = pix2pix_discriminator_loss(real_logits, fake_logits)
                else:
                    d_loss = tf.constant(0.0)
            g_grads = g_tape.gradient(g_total, G.trainable_variables)
            self.generator_optimizer.apply_gradients(zip(g_grads, G.trainable_variables))
            if use_adv:
                d_grads = d_tape.gradient(d_loss, D.trainable_variables)
                self.discriminator_optimizer.apply_gradients(zip(d_grads, D.trainable_variables))
            return {"generator_loss": g_total, "adversarial_loss": g_adv, "l1": l1,
                    "discriminator_loss": d_loss}

        return step

    def train_step(self, batch: dict) -> dict[str, float]:
        """One update of both networks on ``{"inputs", "targets"}`` (float32 ``[-1, 1]``, ``(B,H,W,C)``)."""
        if self._step_fn is None:
            self._step_fn = self._make_train_step()
        out = self._step_fn(np.asarray(batch["inputs"], np.float32), np.asarray(batch["targets"], np.float32))
        return {k: float(v) for k, v in out.items()}
