"""Deterministic TensorFlow ops for one block of code, not for the whole process.

``tf.config.experimental.enable_op_determinism()`` is process-wide and slows some ops; a library that
switched it on for good would change a user's own training behind their back. :func:`deterministic_ops`
switches it on for the duration of a ``with`` block and restores the previous setting afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def deterministic_ops():
    """``with deterministic_ops(): ...`` runs TensorFlow ops deterministically inside the block only.

    Seeds still have to be passed (an unseeded random op raises inside the block). Nested use is safe:
    only the outermost block switches determinism off again, and only when it was off before.
    """
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # is/disable are not in the public API

    was_on = tf_config.is_op_determinism_enabled()
    if not was_on:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()
