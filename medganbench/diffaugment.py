"""Differentiable augmentation (DiffAugment) for training GANs on little data.

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020.
With few training images the discriminator memorises them and its feedback to the generator becomes
useless. DiffAugment applies the *same kind* of random transformation to real and generated images
before D sees them (in the discriminator's AND the generator's update). Because every operation is
differentiable in the pixels, the generator still receives gradients through the augmentation; the
generator itself never learns to produce augmented images, since real images are augmented alike.

Policies (combine with commas, e.g. ``"color,translation,cutout"``):

============  ========================================================================================
``color``     brightness ``+U(-0.5, 0.5)``, saturation ``×U(0, 2)`` (no-op for 1 channel), contrast
              ``×U(0.5, 1.5)`` around each image's mean
``translation``  shift by up to 1/8 of the image size in x and y, filling with 0 (mid-grey in [-1, 1])
``cutout``    zero a square of half the image size at a random place in each image
============  ========================================================================================

Reachable as a model option of every noise -> image GAN: ``--set diffaugment=color,translation,cutout``.
Every random draw comes from a ``tf.random.Generator`` passed in (the model's checkpointed ``rng``), so a
resumed run draws the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str) -> tuple[str, ...]:
    """``"color, translation"`` -> ``("color", "translation")``; ``""``/``"none"`` -> ``()``.

    Raises :class:`~medganbench.errors.ConfigError` naming an unknown policy and the known ones.
    """
    from medganbench.errors import ConfigError

    parts = tuple(p.strip().lower() for p in str(text or "").split(",") if p.strip())
    if parts in ((), ("none",), ("off",)):
        return ()
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        raise ConfigError(f"diffaugment policy {bad[0]!r} is unknown; use a comma-separated subset of "
                          f"{', '.join(POLICIES)} (e.g. diffaugment=color,translation,cutout) or 'none'")
    if len(set(parts)) != len(parts):
        raise ConfigError(f"diffaugment={text!r} names a policy twice")
    return parts


def diff_augment(images, policy, rng):
    """Augment a batch differentiably.

    images: ``float32 (B, H, W, C)`` in about ``[-1, 1]``; policy: a tuple from :func:`parse_policy` (or
    its string); rng: ``tf.random.Generator``. Returns ``float32 (B, H, W, C)``; gradients flow to
    ``images`` (brightness/contrast are affine, translation a gather, cutout a multiplication by a mask).
    """
    if isinstance(policy, str):
        policy = parse_policy(policy)
    x = images
    for name in policy:
        x = _OPS[name](x, rng)
    return x


def _color(x, rng):
    import tensorflow as tf

    b = tf.shape(x)[0]
    x = x + (rng.uniform([b, 1, 1, 1]) - 0.5)
    mean_c = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean_c) * (rng.uniform([b, 1, 1, 1]) * 2.0) + mean_c
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (rng.uniform([b, 1, 1, 1]) + 0.5) + mean


def _translation(x, rng, ratio: float = 0.125):
    import tensorflow as tf

    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    ph = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    pw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    dy = rng.uniform([b, 1], minval=-ph, maxval=ph + 1, dtype=tf.int32)
    dx = rng.uniform([b, 1], minval=-pw, maxval=pw + 1, dtype=tf.int32)
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # one ring of zeros, indexed for every out-of-range read
    rows = tf.clip_by_value(tf.range(h)[None, :] + dy + 1, 0, h + 1)  # (B, H) rows of `padded`
    cols = tf.clip_by_value(tf.range(w)[None, :] + dx + 1, 0, w + 1)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def _cutout(x, rng, ratio: float = 0.5):
    import tensorflow as tf

    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    ch = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    cw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    cy = rng.uniform([b, 1, 1], minval=0, maxval=h + (1 - ch % 2), dtype=tf.int32)
    cx = rng.uniform([b, 1, 1], minval=0, maxval=w + (1 - cw % 2), dtype=tf.int32)
    yy = tf.range(h)[None, :, None]
    xx = tf.range(w)[None, None, :]
    inside = ((yy >= cy - ch // 2) & (yy < cy - ch // 2 + ch) & (xx >= cx - cw // 2) & (xx < cx - cw // 2 + cw))
    mask = 1.0 - tf.cast(inside, x.dtype)
    return x * mask[..., None]


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}
