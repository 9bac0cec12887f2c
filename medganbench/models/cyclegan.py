"""CycleGAN: unpaired translation with two generators, two PatchGANs and cycle consistency.

Zhu, Park, Isola & Efros (2017), "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV. ``G: A -> B`` and ``F: B -> A`` are ResNet generators;
``D_B`` judges real B vs ``G(a)``, ``D_A`` real A vs ``F(b)`` (PatchGANs, instance norm).
Losses (:mod:`medganbench.models.translation_losses`): least-squares adversarial (Mao et al., 2017),
``cycle_weight * (|F(G(a)) - a| + |G(F(b)) - b|)`` and ``identity_weight * (|G(b) - b| + |F(a) - a|)``.
The discriminators are updated on a pool of the last ``pool_size`` generated images
(Shrivastava et al., 2017), which damps oscillation.

In medganbench: A = pneumonia X-rays, B = normal X-rays (task ``pneumonia-to-normal``): ``G``
answers "what would this X-ray look like without the finding?". Notebook 07 teaches it.
Batches are dicts ``{"inputs": A images, "targets": B images}`` (float32 ``[-1, 1]``, unpaired).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medganbench.models.translation_base import TranslationModel


@dataclass
class CycleGANConfig:
    base_filters: int = field(default=32, metadata={"help": "filters of the first generator/discriminator layer"})
    res_blocks: int = field(default=4, metadata={"help": "residual blocks per generator (Zhu et al.: 6 or 9)"})
    cycle_weight: float = field(default=10.0, metadata={"help": "weight of the cycle loss (Zhu et al.: 10)"})
    identity_weight: float = field(default=5.0, metadata={"help": "weight of the identity loss (0.5 * cycle)"})
    pool_size: int = field(default=50, metadata={"help": "past generated images kept for the discriminators"})
    learning_rate: float = field(default=2e-4, metadata={"help": "Adam learning rate"})
    beta_1: float = field(default=0.5, metadata={"help": "Adam beta_1"})


class ImagePool:
    """History of generated images (Shrivastava et al., 2017; CycleGAN sec. 4).

    ``query(batch)``: while the pool fills, stores and returns the new images; afterwards each image
    is, with probability 1/2, swapped for a random stored one (which is returned) or returned as is.
    Images are ``float32 (B,H,W,C)``; ``size = 0`` disables the pool.
    """

    def __init__(self, size: int = 50, seed: int = 0):
        self.size = int(size)
        self.images: list[np.ndarray] = []
        self.rng = np.random.default_rng(seed)

    def query(self, batch) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if self.size <= 0:
            return batch
        out = []
        for image in batch:
            if len(self.images) < self.size:
                self.images.append(image.copy())
                out.append(image)
            elif self.rng.random() < 0.5:
                j = int(self.rng.integers(self.size))
                out.append(self.images[j])
                self.images[j] = image.copy()
            else:
                out.append(image)
        return np.stack(out)


class CycleGAN(TranslationModel):
    """CycleGAN (Zhu et al., 2017) on images of ``image_shape`` ``(H, W, C)`` in both domains."""

    config_class = CycleGANConfig
    paired = False

    def build(self) -> None:
        import keras

        from medganbench.models.translation_blocks import patchgan_discriminator, resnet_generator

        h, _, c = self.image_shape
        cfg = self.config
        self.generator_ab = resnet_generator(h, c, cfg.base_filters, cfg.res_blocks, name="generator_ab")
        self.generator_ba = resnet_generator(h, c, cfg.base_filters, cfg.res_blocks, name="generator_ba")
        self.discriminator_a = patchgan_discriminator(h, c, cfg.base_filters, normalization="instance",
                                                      name="discriminator_a")
        self.discriminator_b = patchgan_discriminator(h, c, cfg.base_filters, normalization="instance",
                                                      name="discriminator_b")
        adam = lambda: keras.optimizers.Adam(cfg.learning_rate, beta_1=cfg.beta_1)  # noqa: E731
        self.generator_optimizer = adam()
        self.discriminator_optimizer = adam()
        self.generators = {"generator_ab": self.generator_ab, "generator_ba": self.generator_ba}
        self.discriminators = {"discriminator_a": self.discriminator_a, "discriminator_b": self.discriminator_b}
        self.pool_a = ImagePool(cfg.pool_size, seed=self.seed)
        self.pool_b = ImagePool(cfg.pool_size, seed=self.seed + 1)
        self._d_step = None

    def reconstruct(self, images, batch_size: int = 64) -> np.ndarray:
        """``F(G(a))``: A -> B -> A, float32 ``[-1, 1]``, same shape as ``images``."""
        images = np.asarray(images, np.float32)
        out = [np.asarray(self.generator_ba(self.generator_ab(images[i:i + batch_size], training=False),
                                            training=False)) for i in range(0, len(images), batch_size)]
        return np.concatenate(out)

    def translate_back(self, images, batch_size: int = 64) -> np.ndarray:
        """``F(b)``: B -> A."""
        images = np.asarray(images, np.float32)
        return np.concatenate([np.asarray(self.generator_ba(images[i:i + batch_size], training=False))
                               for i in range(0, len(images), batch_size)])

    def _make_steps(self):
        import tensorflow as tf

        from medganbench.models.translation_losses import (cycle_consistency_loss, identity_loss,
                                                            lsgan_translation_discriminator_loss,
                                                            lsgan_translation_generator_loss)

        cfg = self.config
        G, F = self.generator_ab, self.generator_ba
        DA, DB = self.discriminator_a, self.discriminator_b
        g_vars = G.trainable_variables + F.trainable_variables
        d_vars = DA.trainable_variables + DB.trainable_variables

        @tf.function
        def generator_step(real_a, real_b):
            with tf.GradientTape() as tape:
                fake_b, fake_a = G(real_a, training=True), F(real_b, training=True)
                cycle = cycle_consistency_loss(real_a, F(fake_b, training=True)) + \
                    cycle_consistency_loss(real_b, G(fake_a, training=True))
                ident = identity_loss(real_b, G(real_b, training=True)) + identity_loss(real_a, F(real_a, training=True))
                adv = lsgan_translation_generator_loss(DB(fake_b, training=True)) + \
                    lsgan_translation_generator_loss(DA(fake_a, training=True))
                total = adv + cfg.cycle_weight * cycle + cfg.identity_weight * ident
            self.generator_optimizer.apply_gradients(zip(tape.gradient(total, g_vars), g_vars))
            return {"generator_loss": total, "adversarial_loss": adv, "cycle_loss": cycle,
                    "identity_loss": ident}, fake_a, fake_b

        @tf.function
        def discriminator_step(real_a, real_b, pooled_fake_a, pooled_fake_b):
            with tf.GradientTape() as tape:
                loss = lsgan_translation_discriminator_loss(DA(real_a, training=True), DA(pooled_fake_a, training=True)) + \
                    lsgan_translation_discriminator_loss(DB(real_b, training=True), DB(pooled_fake_b, training=True))
            self.discriminator_optimizer.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
            return loss

        return generator_step, discriminator_step

    def train_step(self, batch: dict) -> dict[str, float]:
        """One generator update, then one discriminator update on pooled fakes. Returns flat float losses."""
        if self._step_fn is None:
            self._step_fn, self._d_step = self._make_steps()
        real_a = np.asarray(batch["inputs"], np.float32)
        real_b = np.asarray(batch["targets"], np.float32)
        losses, fake_a, fake_b = self._step_fn(real_a, real_b)
        d_loss = self._d_step(real_a, real_b, self.pool_a.query(fake_a.numpy()), self.pool_b.query(fake_b.numpy()))
        return {**{k: float(v) for k, v in losses.items()}, "discriminator_loss": float(d_loss)}
