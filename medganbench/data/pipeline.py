"""The tf.data input pipeline: ``uint8`` arrays in, ``float32`` batches in ``[-1, 1]`` (NHWC) out.

One pipeline for training and for anyone else (:func:`make_input_pipeline`, :func:`make_dataset`):
batch ``s`` is a pure function of ``(seed, s)``, which is what makes a resumed run exact.
"""

from __future__ import annotations

import numpy as np

from medganbench.errors import ConfigError
from medganbench.imageconv import to_float, to_uint8  # noqa: F401  (the owner is imageconv; older imports)


def _tf():
    import tensorflow as tf

    return tf


def batch_indices(step: int, n: int, batch_size: int, seed: int, _cache: dict | None = None) -> np.ndarray:
    """Indices of the examples in batch ``step``: epoch-wise permutations seeded by ``(seed, epoch)``."""
    per_epoch = n // batch_size
    epoch, k = divmod(step, per_epoch)
    if _cache is not None and _cache.get("epoch") == epoch:
        perm = _cache["perm"]
    else:
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        if _cache is not None:
            _cache.update(epoch=epoch, perm=perm)
    return perm[k * batch_size:(k + 1) * batch_size]


def make_input_pipeline(arrays: dict[str, np.ndarray], batch_size: int, seed: int, start_step: int = 0,
                        replicas: tuple[int, int, int] | None = None):
    """``tf.data`` of training batches from ``start_step`` on: uint8 arrays become ``float32 [-1, 1]``,
    integer arrays (labels) ``int32 (B,)``. Deterministic: batch ``s`` is the same whenever it is built.

    replicas: ``(first, local, total)`` for one worker of a multi-worker run: per step, the worker yields
    the slices of the global batch that belong to its replicas ``first .. first+local-1`` (each
    ``batch_size // total`` rows), so all workers together still see exactly global batch ``s``.
    """
    import tensorflow as tf

    n = len(next(iter(arrays.values())))
    if n < batch_size:
        raise ConfigError(f"batch_size {batch_size} is larger than the training set ({n} examples)")
    uint8 = {k for k, v in arrays.items() if v.dtype == np.uint8}
    arrays = {k: (v if k in uint8 else v.reshape(n, -1)[:, 0].astype(np.int32)) for k, v in arrays.items()}
    first, local, total = replicas or (0, 1, 1)
    per = batch_size // total

    def gen():
        cache: dict = {}
        step = start_step
        while True:
            idx = batch_indices(step, n, batch_size, seed, cache)
            for r in range(first, first + local):
                part = idx[r * per:(r + 1) * per]
                yield {k: v[part] for k, v in arrays.items()}
            step += 1

    sig = {k: tf.TensorSpec((per,) + v.shape[1:], tf.uint8 if k in uint8 else tf.int32)
           for k, v in arrays.items()}
    ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
    ds = ds.map(lambda b: {k: (to_float(v) if k in uint8 else v) for k, v in b.items()})
    return ds.prefetch(4)


def make_dataset(images: np.ndarray, labels: np.ndarray | None = None, *, batch_size: int = 64, seed: int = 0,
                 start_step: int = 0):
    """The training pipeline for an image array: ``{"images": float32 (B,H,W,C) in [-1,1], "labels": int32 (B,)}``.

    images: ``uint8`` ``(N, H, W, C)`` (a grey ``(N, H, W)`` gains a channel axis).
    labels: optional ``(N,)`` or ``(N, 1)`` integer class labels (multi-label sets: first column).
    The same pipeline the Trainer uses (:func:`make_input_pipeline`): endless, batch ``s`` drawn from
    the epoch permutation seeded by ``(seed, epoch)``.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"make_dataset expects uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = np.asarray(labels)
    return make_input_pipeline(arrays, batch_size, seed, start_step)
