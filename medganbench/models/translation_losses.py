"""Loss functions of the translation models: pure functions on discriminator logits and images.

Images are ``float32`` in ``[-1, 1]`` (NHWC); logits are PatchGAN maps ``(B, h, w, 1)``, one
real/fake decision per patch, averaged.

- pix2pix (Isola et al., 2017, "Image-to-Image Translation with Conditional Adversarial
  Networks", CVPR): non-saturating cross-entropy on logits + ``l1_weight * |G(x) - y|``.
- CycleGAN (Zhu et al., 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
  Adversarial Networks", ICCV): least-squares adversarial loss (Mao et al., 2017, "Least
  Squares Generative Adversarial Networks", ICCV) + cycle and identity L1 terms.

Notebook 07 explains why the L1 term alone gives blurry results (it is minimised by the
per-pixel *median* of all plausible outputs) and what the adversarial term adds.
"""

from __future__ import annotations


def _tf():
    import tensorflow as tf

    return tf


def _bce(logits, label: float):
    tf = _tf()
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), label), logits=logits))


def l1_loss(a, b):
    """Mean absolute difference of two image batches (``[-1, 1]`` scale)."""
    tf = _tf()
    return tf.reduce_mean(tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def pix2pix_discriminator_loss(real_logits, fake_logits):
    """Cross-entropy: real (input, target) patches -> 1, (input, G(input)) patches -> 0 (Isola et al., 2017).

    Halved, as in the paper, to slow the discriminator relative to the generator.
    """
    return 0.5 * (_bce(real_logits, 1.0) + _bce(fake_logits, 0.0))


def pix2pix_generator_loss(fake_logits, fake, target, l1_weight: float = 100.0,
                           adversarial_weight: float = 1.0):
    """Non-saturating adversarial loss + ``l1_weight * L1(fake, target)`` (Isola et al., 2017, eq. 4).

    Returns ``(total, adversarial, l1)`` scalars. ``adversarial_weight = 0`` gives the L1-only model.
    """
    adversarial = _bce(fake_logits, 1.0)
    l1 = l1_loss(fake, target)
    return adversarial_weight * adversarial + l1_weight * l1, adversarial, l1


def lsgan_translation_discriminator_loss(real_logits, fake_logits):
    """Least squares: ``0.5 * [(D(real) - 1)^2 + D(fake)^2]`` (Mao et al., 2017; used by Zhu et al., 2017)."""
    tf = _tf()
    return 0.5 * (tf.reduce_mean(tf.square(real_logits - 1.0)) + tf.reduce_mean(tf.square(fake_logits)))


def lsgan_translation_generator_loss(fake_logits):
    """Least squares generator loss ``(D(G(x)) - 1)^2`` (Mao et al., 2017)."""
    tf = _tf()
    return tf.reduce_mean(tf.square(fake_logits - 1.0))


def cycle_consistency_loss(real, reconstructed):
    """``|F(G(x)) - x|_1`` (Zhu et al., 2017, eq. 2)."""
    return l1_loss(real, reconstructed)


def identity_loss(real_target_domain, mapped):
    """``|G(y) - y|_1`` for ``y`` already in G's output domain (Zhu et al., 2017, sec. 5.2; Taigman et al., 2017)."""
    return l1_loss(real_target_domain, mapped)
