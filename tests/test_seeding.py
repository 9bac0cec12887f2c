"""Seeds go to the initialisers, never into the user's global random state."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def test_building_a_model_keeps_global_rngs_and_is_seeded():
    from medganbench.models import build

    random.seed(123)
    np.random.seed(123)
    expect_py, expect_np = random.random(), np.random.rand()
    random.seed(123)
    np.random.seed(123)
    a = build("dcgan", (28, 28, 1), base_filters=8, latent_dim=8, seed=3)
    assert (random.random(), np.random.rand()) == (expect_py, expect_np), "building a model reseeded the globals"
    b = build("dcgan", (28, 28, 1), base_filters=8, latent_dim=8, seed=3)
    c = build("dcgan", (28, 28, 1), base_filters=8, latent_dim=8, seed=4)
    wa, wb, wc = (m.generator.get_weights()[0] for m in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(wa, wc)


@pytest.mark.slow  # three short trainings (~10 s): kept out of make test-fast
def test_classifier_and_encoder_training_leave_the_users_random_streams_alone():
    """Both trainers seed Keras for their own block only: random / np.random / tf.random continue untouched,
    and the seed alone (not whatever the user's streams were at) decides the classifier's weights (the
    shipped-extractor hash checks the encoder's)."""
    import dataclasses

    import tensorflow as tf

    from medganbench.classifier import ClassifierRecipe, train_classifier
    from medganbench.metrics.domain import DOMAIN_RECIPE
    from medganbench.metrics.encoder import train_encoder

    data = np.random.default_rng(0)
    x = data.integers(0, 256, (48, 28, 28, 1), dtype=np.uint8)
    y = np.arange(48) % 2
    recipe = ClassifierRecipe(width=4, epochs=1, min_steps=3, batch_size=16, flips="both")
    tiny = dataclasses.replace(DOMAIN_RECIPE, width=4, embedding=8, hidden=16, epochs=1, batch_size=16)

    def draws():
        return random.random(), float(np.random.rand()), float(tf.random.uniform([]))

    def classifier(seed):
        return train_classifier(x, y, x[:16], y[:16], recipe, seed=seed, progress=False).model.get_weights()[0]

    for s in (random.seed, np.random.seed, tf.random.set_seed):
        s(11)
    expected = [draws() for _ in range(2)]
    for s in (random.seed, np.random.seed, tf.random.set_seed):
        s(11)
    got = [draws()]
    first = classifier(seed=5)
    train_encoder(x, tiny, seed=5)
    got.append(draws())
    assert got == expected, "a trainer changed the caller's random / np.random / tf.random sequence"
    random.seed(99)
    np.random.seed(99)  # other global state before the call: the same seed still gives the same weights
    np.testing.assert_array_equal(classifier(seed=5), first)
