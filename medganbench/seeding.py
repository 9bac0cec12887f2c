"""Seeds that go where they are needed, never into the user's global random state.

Keras 3 draws the seed of every initializer (and of every layer's ``SeedGenerator``) that is built
without an explicit one from Python's ``random`` module. :func:`seeded` makes those draws a function of
``seed`` and then puts Python's and NumPy's global generators back as they were, so building a model in
a notebook cell does not change what ``random.random()`` or ``np.random.rand()`` return in the next one
(``keras.utils.set_random_seed`` would reseed them all, and TensorFlow's, for the rest of the session).
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
