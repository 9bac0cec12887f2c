"""tf.data input pipelines: ``uint8`` arrays in, ``float32`` batches in ``[-1, 1]`` (NHWC) out.

Deterministic for a given seed: the same seed gives the same batches in the same order.
"""

from __future__ import annotations

import numpy as np


def to_float(images_uint8):
    """``uint8 [0, 255]`` -> ``float32 [-1, 1]`` (works on numpy arrays and tensors)."""
    return (images_uint8.astype(np.float32) if isinstance(images_uint8, np.ndarray)
            else _tf().cast(images_uint8, "float32")) / 127.5 - 1.0


def to_uint8(images_float) -> np.ndarray:
    """``float32 [-1, 1]`` -> ``uint8 [0, 255]`` numpy array (rounded, clipped)."""
    x = np.asarray(images_float, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _tf():
    import tensorflow as tf

    return tf


def make_dataset(images: np.ndarray, labels: np.ndarray | None = None, *, batch_size: int = 64,
                 seed: int = 0, shuffle: bool = True, repeat: bool = True, drop_remainder: bool = True,
                 cache: bool = True, prefetch: bool = True):
    """Build a ``tf.data.Dataset`` of dicts ``{"images": float32 (B,H,W,C) in [-1,1], "labels": int32 (B,)}``.

    images: ``uint8`` ``(N, H, W, C)`` (a grey ``(N, H, W)`` gains a channel axis).
    labels: optional ``(N,)`` or ``(N, 1)`` integer class labels (multi-label sets: first column).
    The uint8 tensor is cached, shuffled with ``seed`` each epoch, repeated, batched and
    converted after batching (cheaper than per image), then prefetched.
    """
    tf = _tf()
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"make_dataset expects uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    tensors = {"images": images}
    if labels is not None:
        labels = np.asarray(labels)
        tensors["labels"] = (labels.reshape(len(labels), -1)[:, 0]).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda b: {**b, "images": tf.cast(b["images"], tf.float32) / 127.5 - 1.0},
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds
