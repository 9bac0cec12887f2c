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

from medganbench.models.base import GANConfig
from medganbench.models.translation_base import TranslationModel


@dataclass
class Pix2PixConfig(GANConfig):
    base_filters: int = field(default=32, metadata={"help": "filters of the first generator/discriminator layer"})
    depth: int | None = field(default=None, metadata={"help": "U-Net stride-2 levels (default: as many as fit)"})
    patch_layers: int | None = field(default=None, metadata={
        "help": "PatchGAN stride-2 layers: 1 -> 16 px, 2 -> 34 px, 3 -> 70 px receptive field (default: by size)"})
    l1_weight: float = field(default=100.0, metadata={"help": "weight of the L1 term (Isola et al.: 100)"})
    adversarial_weight: float = field(default=1.0, metadata={"help": "weight of the adversarial term (0: L1 only)"})
    residual: bool = field(default=True, metadata={"help": "generator predicts a correction added to its input"})


class Pix2Pix(TranslationModel):
    """pix2pix (Isola et al., 2017) as a :class:`GANModel`: ``Pix2Pix((H, W, C), 0, Pix2PixConfig())``."""

    config_class = Pix2PixConfig
    paired = True

    def build_networks(self) -> dict:
        from medganbench.models.translation_blocks import patchgan_discriminator, unet_generator

        h, _, c = self.image_shape
        cfg = self.config
        return {"generator": unet_generator(h, c, cfg.base_filters, cfg.depth, cfg.residual),
                "discriminator": patchgan_discriminator(h, 2 * c, cfg.base_filters, cfg.patch_layers)}

    def train_step(self, batch: dict) -> dict:
        """One update of both networks on ``{"inputs", "targets"}`` (float32 ``[-1, 1]``, ``(B,H,W,C)``)."""
        import tensorflow as tf

        from medganbench.models.translation_losses import pix2pix_discriminator_loss, pix2pix_generator_loss

        cfg = self.config
        G, D = self.generator, self.discriminator
        self.check_batch(batch)
        inputs, targets = batch["inputs"], batch["targets"]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = G(inputs, training=True)
            fake_logits = D(tf.concat([inputs, fake], -1), training=True)
            real_logits = D(tf.concat([inputs, targets], -1), training=True)
            g_total, g_adv, l1 = pix2pix_generator_loss(fake_logits, fake, targets, cfg.l1_weight,
                                                        cfg.adversarial_weight)
            d_loss = pix2pix_discriminator_loss(real_logits, fake_logits)
        g_norm = self.apply_update("generator", g_tape, g_total)
        if cfg.adversarial_weight > 0:
            d_norm = self.apply_update("discriminator", d_tape, d_loss)
        else:  # L1-only ablation: the discriminator is only watched, never trained
            d_norm = tf.constant(0.0)
        return {"generator_loss": g_total, "adversarial_loss": g_adv, "l1": l1, "discriminator_loss": d_loss,
                "generator_grad_norm": g_norm, "discriminator_grad_norm": d_norm}
