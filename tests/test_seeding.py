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
