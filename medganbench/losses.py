"""GAN losses: small pure functions on discriminator *logits* (raw outputs, no sigmoid).

Every family has ``<family>_generator_loss(fake_logits)`` and
``<family>_discriminator_loss(real_logits, fake_logits)`` so that ``registry.LOSSES`` resolves
each family by name. All inputs are float tensors of any shape (usually ``(B, 1)``); every loss
returns a scalar ``float32`` mean over the batch. The generator *minimises* its loss.

Notebook ``01_gan_theory.ipynb`` derives these and plots why the saturating (minimax) generator
loss stalls; ``02_first_gan_mlp.ipynb`` shows what goes wrong when they are misused.

Notation: ``l`` = logit, ``D = sigmoid(l)``, ``softplus(x) = log(1 + e^x)``, so
``-log D = softplus(-l)`` and ``-log(1 - D) = softplus(l)`` (numerically stable forms).
"""

from __future__ import annotations

import tensorflow as tf


def _f32(x):
    return tf.cast(x, tf.float32)


# --- cross-entropy (Goodfellow et al., 2014) -------------------------------------------------

def cross_entropy_discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """Binary cross-entropy of the discriminator: ``E[-log D(x)] + E[-log(1 - D(G(z)))]``.

    = ``mean(softplus(-l_real)) + mean(softplus(l_fake))``; equals ``2 log 2 ≈ 1.386`` at logits 0.
    ``real_label < 1`` gives one-sided label smoothing (Salimans et al., 2016).
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """
    real_logits, fake_logits = _f32(real_logits), _f32(fake_logits)
    real_term = real_label * tf.nn.softplus(-real_logits) + (1.0 - real_label) * tf.nn.softplus(real_logits)
    return tf.reduce_mean(real_term) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """Original (saturating) minimax generator loss: ``E[log(1 - D(G(z)))]`` = ``-mean(softplus(l))``.

    Equals ``log 0.5 ≈ -0.693`` at logits 0. Its gradient w.r.t. the logit is ``-sigmoid(l)``, which
    vanishes when D confidently rejects fakes (``l << 0``): the generator stalls early in training.
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, eq. 1.
    """
    return -tf.reduce_mean(tf.nn.softplus(_f32(fake_logits)))


def minimax_discriminator_loss(real_logits, fake_logits):
    """Discriminator side of the minimax game: the cross-entropy (see ``cross_entropy_discriminator_loss``).

    Goodfellow et al., NeurIPS 2014.
    """
    return cross_entropy_discriminator_loss(real_logits, fake_logits)


def nonsaturating_generator_loss(fake_logits):
    """Non-saturating generator loss: ``E[-log D(G(z))]`` = ``mean(softplus(-l))``; ``log 2`` at logits 0.

    Same fixed point as the minimax loss but the gradient ``-sigmoid(-l)`` is close to -1 exactly when
    D rejects fakes, so the generator keeps learning. Goodfellow et al., NeurIPS 2014, section 3.
    """
    return tf.reduce_mean(tf.nn.softplus(-_f32(fake_logits)))


def nonsaturating_discriminator_loss(real_logits, fake_logits):
    """Cross-entropy discriminator loss (same as minimax's). Goodfellow et al., NeurIPS 2014."""
    return cross_entropy_discriminator_loss(real_logits, fake_logits)


# --- least squares (Mao et al., 2017) --------------------------------------------------------

def lsgan_generator_loss(fake_logits):
    """Least-squares generator loss ``0.5 * E[(D(G(z)) - 1)^2]`` on raw outputs; 0.5 at outputs 0.

    Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017 (a-b-c = 0-1-1 coding).
    """
    return 0.5 * tf.reduce_mean(tf.square(_f32(fake_logits) - 1.0))


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Least-squares discriminator loss ``0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]``; 0.5 at outputs 0.

    Mao et al., ICCV 2017.
    """
    return (0.5 * tf.reduce_mean(tf.square(_f32(real_logits) - 1.0))
            + 0.5 * tf.reduce_mean(tf.square(_f32(fake_logits))))


# --- hinge (Lim & Ye, 2017; Miyato et al., 2018) ---------------------------------------------

def hinge_generator_loss(fake_logits):
    """Hinge generator loss ``-E[D(G(z))]``; 0 at outputs 0. Lim & Ye, "Geometric GAN", 2017."""
    return -tf.reduce_mean(_f32(fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``; 2 at outputs 0.

    Lim & Ye, 2017; Miyato et al., "Spectral Normalization for GANs", ICLR 2018.
    """
    return (tf.reduce_mean(tf.nn.relu(1.0 - _f32(real_logits)))
            + tf.reduce_mean(tf.nn.relu(1.0 + _f32(fake_logits))))


# --- Wasserstein (Arjovsky et al., 2017) -----------------------------------------------------

def wasserstein_generator_loss(fake_logits):
    """Wasserstein generator loss ``-E[C(G(z))]`` (C = critic score). Arjovsky et al., ICML 2017.

    Meaningful only with a Lipschitz critic (weight clipping or ``gradient_penalty``); without one the
    critic's scores grow without bound (notebook 02 shows it).
    """
    return -tf.reduce_mean(_f32(fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Wasserstein critic loss ``E[C(G(z))] - E[C(x)]`` (minus the estimated W1 distance).

    Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017.
    """
    return tf.reduce_mean(_f32(fake_logits)) - tf.reduce_mean(_f32(real_logits))


# --- regularisers ----------------------------------------------------------------------------

def _per_sample_grad_sq(critic, points):
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = tf.cast(critic(points), tf.float32)
    grads = tf.cast(tape.gradient(scores, points), tf.float32)
    return tf.reduce_sum(tf.square(grads), axis=list(range(1, len(points.shape))))


def gradient_penalty(critic, real, fake, alpha=None, epsilon: float = 1e-12):
    """WGAN-GP penalty ``E[(||∇_x̂ C(x̂)||_2 - 1)^2]`` at ``x̂ = α x + (1 - α) G(z)``.

    critic: callable ``images (B,H,W,C) -> scores (B,1)`` (close over labels for conditional critics).
    real, fake: ``float32 (B,H,W,C)`` in ``[-1, 1]``. alpha: ``(B,1,1,1)`` interpolation weights, drawn
    ``U(0, 1)`` per sample when None (pass them from a seeded ``tf.random.Generator`` for exact
    reproducibility). ``epsilon`` sits inside the square root so the gradient stays finite at 0.
    Multiply by λ (10 in the paper). Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """
    real, fake = _f32(real), _f32(fake)
    if alpha is None:
        alpha = tf.random.uniform([tf.shape(real)[0]] + [1] * (len(real.shape) - 1))
    interpolated = alpha * real + (1.0 - alpha) * fake
    norm = tf.sqrt(_per_sample_grad_sq(critic, interpolated) + epsilon)
    return tf.reduce_mean(tf.square(norm - 1.0))


def r1_penalty(discriminator, real):
    """R1 penalty ``E[||∇_x D(x)||^2]`` on real images only; multiply by ``γ / 2``.

    discriminator: callable ``images -> logits``; real: ``float32 (B,H,W,C)`` in ``[-1, 1]``.
    Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually Converge?", ICML 2018.
    """
    return tf.reduce_mean(_per_sample_grad_sq(discriminator, _f32(real)))


def l1_loss(prediction, target):
    """Mean absolute error ``E|y - ŷ|`` (pix2pix's reconstruction term; Isola et al., CVPR 2017)."""
    return tf.reduce_mean(tf.abs(_f32(prediction) - _f32(target)))


def get_loss_family(name: str):
    """``name`` (a key of ``registry.LOSSES``) -> ``(generator_loss, discriminator_loss)`` functions."""
    from medganbench.registry import LOSSES

    info = LOSSES.info(name)
    generator_loss = LOSSES.get(name)
    module, _, attr = info["discriminator"].partition(":")
    import importlib

    return generator_loss, getattr(importlib.import_module(module), attr)
