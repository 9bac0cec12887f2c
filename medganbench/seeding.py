"""Seeds that go where they are needed, never into the user's global random state.

Keras 3 draws the seed of every initializer (and of every layer's ``SeedGenerator``) that is built
without an explicit one from Python's ``random`` module. :func:`seeded` makes those draws a function of
``seed`` and then puts Python's and NumPy's global generators back as they were, so building a model in
a notebook cell does not change what ``random.random()`` or ``np.random.rand()`` return in the next one
(``keras.utils.set_random_seed`` would reseed them all, and TensorFlow's, for the rest of the session).

:func:`keras_seeded` is the scoped stand-in for ``keras.utils.set_random_seed`` used by the classifier and
the domain encoder: their recipes (and the shipped extractor weights, whose hash is part of every
``eval_spec_hash``) were fixed under ``set_random_seed``, so the block seeds exactly what that call seeds
for Keras (Python's and NumPy's generators, Keras' global ``SeedGenerator``) and restores all of it on exit.
TensorFlow's global seed is neither needed nor touched: every random op in those trainings is stateless and
seeded explicitly (under ``deterministic_ops`` an unseeded stateful op would raise, which the tests exercise).
"""

from __future__ import annotations

import contextlib
import random


@contextlib.contextmanager
def seeded(seed: int):
    """Within the block, unseeded Keras initializers draw from ``seed``; afterwards the global state is restored."""
    import numpy as np

    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(int(seed))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


@contextlib.contextmanager
def keras_seeded(seed: int):
    """``keras.utils.set_random_seed(seed)`` for the block only: Python's, NumPy's and Keras' global seed state
    are what ``set_random_seed`` makes them inside, and exactly what they were before once the block exits."""
    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    keys = (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)
    saved = {k: global_state.get_global_attribute(k) for k in keys}
    py_state, np_state = random.getstate(), np.random.get_state()
    seed = int(seed)
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)  # recreated from the seed
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        for k, v in saved.items():
            global_state.set_global_attribute(k, v)
