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

from medganbench.models.base import GANConfig
from medganbench.models.translation_base import TranslationModel


@dataclass
class CycleGANConfig(GANConfig):
    base_filters: int = field(default=32, metadata={"help": "filters of the first generator/discriminator layer"})
    res_blocks: int = field(default=4, metadata={"help": "residual blocks per generator (Zhu et al.: 6 or 9)"})
    cycle_weight: float = field(default=10.0, metadata={"help": "weight of the cycle loss (Zhu et al.: 10)"})
    identity_weight: float = field(default=5.0, metadata={"help": "weight of the identity loss (0.5 * cycle)"})
    pool_size: int = field(default=50, metadata={"help": "past generated images kept for the discriminators"})


class ImagePool:
    """History of generated images (Shrivastava et al., 2017; CycleGAN sec. 4), inside the compiled step.

    ``query(batch, rng)``: while the pool fills, stores and returns the new images; afterwards each image
    is, with probability 1/2, swapped for a random stored one (which is returned) or returned as is.
    Images are ``float32 (B,H,W,C)``; ``size = 0`` disables the pool. The buffer is a ``tf.Variable``
    (not part of the Trainer's checkpoint: a resumed run refills it).
    """

    def __init__(self, size: int, image_shape, name: str = "pool"):
        import tensorflow as tf

        self.size = int(size)
        if self.size > 0:
            self.images = tf.Variable(tf.zeros((self.size,) + tuple(image_shape)), trainable=False, name=name)
            self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name=f"{name}_count")

    def query(self, batch, rng):
        import tensorflow as tf

        if self.size <= 0:
            return batch
        batch = tf.stop_gradient(tf.convert_to_tensor(batch, tf.float32))
        n = tf.shape(batch)[0]

        def fill():
            idx = (self.count + tf.range(n)) % self.size
            self.images.scatter_nd_update(idx[:, None], batch)
            self.count.assign(tf.minimum(self.count + n, self.size))
            return batch

        def swap():
            use_old = rng.uniform((n,)) < 0.5
            j = rng.uniform((n,), minval=0, maxval=self.size, dtype=tf.int32)
            old = tf.gather(self.images, j)
            mask = tf.reshape(use_old, (-1, 1, 1, 1))
            self.images.scatter_nd_update(j[:, None], tf.where(mask, batch, old))
            return tf.where(mask, old, batch)

        return tf.cond(self.count < self.size, fill, swap)


class CycleGAN(TranslationModel):
    """CycleGAN (Zhu et al., 2017) as a :class:`GANModel` on images ``(H, W, C)`` of both domains.

    Networks: ``generator`` (A -> B), ``generator_ba`` (B -> A), ``discriminator_a``, ``discriminator_b``.
    """

    config_class = CycleGANConfig
    paired = False

    def __init__(self, image_shape, num_classes: int = 0, config=None):
        super().__init__(image_shape, num_classes, config)
        self.pool_a = ImagePool(self.config.pool_size, self.image_shape, "pool_a")
        self.pool_b = ImagePool(self.config.pool_size, self.image_shape, "pool_b")

    def build_networks(self) -> dict:
        from medganbench.models.translation_blocks import patchgan_discriminator, resnet_generator

        h, _, c = self.image_shape
        cfg = self.config
        return {
            "generator": resnet_generator(h, c, cfg.base_filters, cfg.res_blocks, name="generator_ab"),
            "generator_ba": resnet_generator(h, c, cfg.base_filters, cfg.res_blocks, name="generator_ba"),
            "discriminator_a": patchgan_discriminator(h, c, cfg.base_filters, normalization="instance",
                                                      name="discriminator_a"),
            "discriminator_b": patchgan_discriminator(h, c, cfg.base_filters, normalization="instance",
                                                      name="discriminator_b"),
        }

    def build_optimizers(self) -> dict:
        cfg = self.config
        return {name: self.adam(cfg.learning_rate_generator if name.startswith("generator")
                                else cfg.learning_rate_discriminator) for name in self.networks}

    def reconstruct(self, images, batch_size: int = 64) -> np.ndarray:
        """``F(G(a))``: A -> B -> A, float32 ``[-1, 1]``, same shape as ``images``."""
        G, F = self.networks["generator"], self.networks["generator_ba"]
        images = np.asarray(images, np.float32)
        out = [np.asarray(F(G(images[i:i + batch_size], training=False), training=False))
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out)

    def translate_back(self, images, batch_size: int = 64) -> np.ndarray:
        """``F(b)``: B -> A."""
        F = self.networks["generator_ba"]
        images = np.asarray(images, np.float32)
        return np.concatenate([np.asarray(F(images[i:i + batch_size], training=False))
                               for i in range(0, len(images), batch_size)])

    def train_step(self, batch: dict) -> dict:
        """Generators, then discriminators on pooled fakes; ``{"inputs": A, "targets": B}`` unpaired."""
        import tensorflow as tf

        from medganbench.models.translation_losses import (
            cycle_consistency_loss,
            identity_loss,
            lsgan_translation_discriminator_loss,
            lsgan_translation_generator_loss,
        )

        cfg = self.config
        G, F = self.networks["generator"], self.networks["generator_ba"]
        DA, DB = self.networks["discriminator_a"], self.networks["discriminator_b"]
        self.check_batch(batch)
        real_a, real_b = batch["inputs"], batch["targets"]
        with tf.GradientTape(persistent=True) as tape:
            fake_b, fake_a = G(real_a, training=True), F(real_b, training=True)
            cycle = cycle_consistency_loss(real_a, F(fake_b, training=True)) + \
                cycle_consistency_loss(real_b, G(fake_a, training=True))
            ident = identity_loss(real_b, G(real_b, training=True)) + identity_loss(real_a, F(real_a, training=True))
            adv = lsgan_translation_generator_loss(DB(fake_b, training=True)) + \
                lsgan_translation_generator_loss(DA(fake_a, training=True))
            total = adv + cfg.cycle_weight * cycle + cfg.identity_weight * ident
        g_norm = self.apply_update("generator", tape, total)
        self.apply_update("generator_ba", tape, total)
        del tape
        pooled_a = self.pool_a.query(fake_a, self.rng)
        pooled_b = self.pool_b.query(fake_b, self.rng)
        with tf.GradientTape(persistent=True) as d_tape:
            da = lsgan_translation_discriminator_loss(DA(real_a, training=True), DA(pooled_a, training=True))
            db = lsgan_translation_discriminator_loss(DB(real_b, training=True), DB(pooled_b, training=True))
        d_norm = self.apply_update("discriminator_a", d_tape, da)
        self.apply_update("discriminator_b", d_tape, db)
        del d_tape
        return {"generator_loss": total, "adversarial_loss": adv, "cycle_loss": cycle, "identity_loss": ident,
                "discriminator_loss": da + db, "generator_grad_norm": g_norm, "discriminator_grad_norm": d_norm}
