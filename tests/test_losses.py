"""Losses against hand-computed values and the gradient behaviour notebook 01 teaches."""

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from medganbench import losses as L
from medganbench.registry import LOSSES

ZERO = tf.zeros((8, 1))
LOG2 = math.log(2.0)


@pytest.mark.parametrize("fn, expected", [
    (L.minimax_generator_loss, -LOG2),
    (L.nonsaturating_generator_loss, LOG2),
    (L.lsgan_generator_loss, 0.5),
    (L.hinge_generator_loss, 0.0),
    (L.wasserstein_generator_loss, 0.0),
])
def test_generator_losses_at_zero_logits(fn, expected):
    assert float(fn(ZERO)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("fn, expected", [
    (L.minimax_discriminator_loss, 2 * LOG2),
    (L.nonsaturating_discriminator_loss, 2 * LOG2),
    (L.cross_entropy_discriminator_loss, 2 * LOG2),
    (L.lsgan_discriminator_loss, 0.5),
    (L.hinge_discriminator_loss, 2.0),
    (L.wasserstein_discriminator_loss, 0.0),
])
def test_discriminator_losses_at_zero_logits(fn, expected):
    assert float(fn(ZERO, ZERO)) == pytest.approx(expected, abs=1e-6)


def test_losses_at_other_logits_match_formulas():
    real = tf.constant([[2.0], [-1.0]])
    fake = tf.constant([[0.5], [-3.0]])
    sig = lambda x: 1 / (1 + np.exp(-x))
    r, f = np.array([2.0, -1.0]), np.array([0.5, -3.0])
    ce = np.mean(-np.log(sig(r))) + np.mean(-np.log(1 - sig(f)))
    assert float(L.cross_entropy_discriminator_loss(real, fake)) == pytest.approx(ce, rel=1e-5)
    assert float(L.minimax_generator_loss(fake)) == pytest.approx(np.mean(np.log(1 - sig(f))), rel=1e-5)
    assert float(L.nonsaturating_generator_loss(fake)) == pytest.approx(np.mean(-np.log(sig(f))), rel=1e-5)
    assert float(L.hinge_discriminator_loss(real, fake)) == pytest.approx(
        np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)), rel=1e-6)
    assert float(L.wasserstein_discriminator_loss(real, fake)) == pytest.approx(f.mean() - r.mean(), rel=1e-6)
    assert float(L.lsgan_discriminator_loss(real, fake)) == pytest.approx(
        0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2), rel=1e-6)
    # label smoothing moves the real target: at 0.9 the loss at a logit of +2 is larger than without.
    assert float(L.cross_entropy_discriminator_loss(real, fake, 0.9)) > ce


def _grad(fn, logit):
    x = tf.constant([[logit]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return float(tape.gradient(y, x)[0, 0])


def test_saturating_loss_gradient_vanishes_when_discriminator_rejects_fakes():
    # D confidently says "fake" (logit -10, D = 4.5e-5): minimax gradient ~ -sigmoid(-10) vanishes,
    # the non-saturating one stays close to -1 (the generator keeps learning).
    sat = _grad(L.minimax_generator_loss, -10.0)
    nonsat = _grad(L.nonsaturating_generator_loss, -10.0)
    assert abs(sat) < 1e-4
    assert nonsat == pytest.approx(-1.0, abs=1e-3)
    # near D = 1/2 both push the same way with equal strength
    assert _grad(L.minimax_generator_loss, 0.0) == pytest.approx(_grad(L.nonsaturating_generator_loss, 0.0))


def test_gradient_penalty_on_a_linear_critic():
    # C(x) = sum(w * x) has gradient w everywhere: penalty = (||w|| - 1)^2 for any interpolation.
    w = tf.constant(np.full((1, 4, 4, 1), 0.5, np.float32))  # ||w|| = 0.5 * 4 = 2
    critic = lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]
    real = tf.random.uniform((6, 4, 4, 1), -1, 1, seed=1)
    fake = tf.random.uniform((6, 4, 4, 1), -1, 1, seed=2)
    assert float(L.gradient_penalty(critic, real, fake)) == pytest.approx(1.0, rel=1e-5)
    alpha = tf.fill((6, 1, 1, 1), 0.3)
    assert float(L.gradient_penalty(critic, real, fake, alpha=alpha)) == pytest.approx(1.0, rel=1e-5)
    # R1 = E ||grad||^2 = 4
    assert float(L.r1_penalty(critic, real)) == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_is_finite_where_the_critic_is_flat():
    critic = lambda x: tf.zeros((tf.shape(x)[0], 1)) * tf.reduce_sum(x)
    real = tf.ones((2, 3, 3, 1))
    x = tf.Variable(tf.zeros((2, 3, 3, 1)))
    with tf.GradientTape() as tape:
        gp = L.gradient_penalty(critic, real, x)
    assert float(gp) == pytest.approx(1.0, abs=1e-5)  # (sqrt(0 + eps) - 1)^2
    g = tape.gradient(gp, x)
    assert g is None or np.isfinite(g.numpy()).all()


def test_every_registered_family_resolves():
    for name in LOSSES.names():
        g, d = L.get_loss_family(name)
        assert callable(g) and callable(d)
        assert np.isfinite(float(g(ZERO))) and np.isfinite(float(d(ZERO, ZERO)))


def test_l1_loss():
    assert float(L.l1_loss(tf.ones((2, 2)), tf.zeros((2, 2)))) == pytest.approx(1.0)
