"""A self-supervised image encoder (VICReg) used as the default domain feature space.

Why not the kit's classifier: a classifier's penultimate layer keeps what separates its labels and
throws the rest away. On PneumoniaMNIST one direction carries 92 % of its features' variance
(participation ratio 1.18), so FID in that space mostly measures the class mix. VICReg (Bardes,
Ponce & LeCun, ICLR 2022) learns features from the images alone: two augmented views of a training
image must map close together (invariance), every feature must keep a standard deviation of at least 1
over a batch (variance), and features must be decorrelated (covariance). The last two terms are what
spread the information over many directions. Measured comparison: docs/metrics.md.

Augmentations are chosen for X-rays: crop-and-rescale (scale 0.75-1, aspect 0.9-1.1), brightness and
contrast of +-10 % / +-20 % (exposure differs between films), and weak Gaussian noise (sigma <= 0.04 on
the [-1, 1] scale, about 5 grey levels). No flips (a chest film is left-right asymmetric) and no strong
blur or noise: the features must stay sensitive to exactly the defects a generator makes.

All randomness is stateless and derived from ``(seed, step)``, so training is a pure function of the
data, the recipe and the seed once TensorFlow's op determinism is on (see
:mod:`medganbench.metrics.train_extractor`, which trains in a separate process for that reason).

Public API::

    EncoderRecipe(width=16, embedding=32, epochs=15, ...)     the fixed recipe (every field goes into the id)
    build_encoder(input_shape, recipe) -> (encoder, head)       keras Models; features = head(encoder(x))
    feature_model(encoder, head, recipe) -> keras Model         float32 [-1, 1] (B, H, W, C) -> (B, dim)
    augment(x, seed, step, shift_scale) -> x'                   the two-view augmentation (stateless)
    vicreg_loss(z1, z2, recipe) -> scalar
    train_encoder(images, recipe, seed, log=None) -> (encoder, head, history, seconds)
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from medganbench.errors import ConfigError
from medganbench.seeding import keras_seeded


@dataclass
class EncoderRecipe:
    """The fixed self-supervised training recipe. Changing any field changes the extractor's id."""

    kind: str = field(default="vicreg", metadata={"help": "the recipe family (VICReg self-supervision)"})
    width: int = field(default=16, metadata={"help": "channels of the first stage (stages: w, 2w, 4w)"})
    embedding: int = field(default=32, metadata={"help": "feature dimension (the VICReg embedding)"})
    hidden: int = field(default=256, metadata={"help": "width of the projector's hidden layer"})
    epochs: int = field(default=15, metadata={"help": "passes over the training images"})
    min_steps: int = field(default=0, metadata={"help": "at least this many updates (tiny subsets)"})
    batch_size: int = field(default=256, metadata={"help": "images per update (capped at the set size)"})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (cosine decay)"})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay"})
    sim_weight: float = field(default=25.0, metadata={"help": "VICReg invariance weight (lambda)"})
    var_weight: float = field(default=25.0, metadata={"help": "VICReg variance weight (mu)"})
    # 4, not the paper's 1: with a 32-d embedding, nu=1 left an effective dimension of 9.7, nu=4 gives 14.5
    cov_weight: float = field(default=4.0, metadata={"help": "VICReg covariance weight (nu)"})
    features: str = field(default="embedding", metadata={"help": "which output is the feature space: "
                                                                 "embedding | representation | both"})
    max_train_images: int = field(default=0, metadata={"help": "train on the first N images only (0 = all; tests)"})

    def steps_per_epoch(self, n: int) -> int:
        return max(1, n // self.effective_batch(n))

    def total_steps(self, n: int) -> int:
        return max(self.min_steps, self.epochs * self.steps_per_epoch(n))

    def effective_batch(self, n: int) -> int:
        return max(2, min(self.batch_size, n))

    @property
    def dim(self) -> int:
        """Feature dimension of this recipe."""
        rep = 4 * self.width
        return {"embedding": self.embedding, "representation": rep, "both": rep + self.embedding}[self.features]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _keras():
    from medganbench.classifier import _keras as k

    return k()


def build_encoder(input_shape: tuple[int, int, int], recipe: EncoderRecipe):
    """-> ``(encoder, head)``: ``encoder`` maps ``float32 [-1, 1] (B, H, W, C)`` to the ``4*width``
    representation (the classifier's residual trunk + global average pool); ``head`` (the VICReg
    projector) maps it to the ``embedding``-d vector the loss sees."""
    from medganbench.classifier import _bn, _residual_block

    if recipe.features not in ("embedding", "representation", "both"):
        raise ConfigError(f"EncoderRecipe.features={recipe.features!r}; choose embedding, representation or both.")
    keras = _keras()
    layers = keras.layers
    x_in = keras.Input(shape=input_shape, name="images")
    extra = max(0, int(round(math.log2(max(input_shape[0], 28) / 28))))
    x = layers.Conv2D(recipe.width, 3, strides=2 if extra else 1, padding="same", use_bias=False)(x_in)
    for _ in range(max(0, extra - 1)):
        x = _bn(layers)(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(recipe.width, 3, strides=2, padding="same", use_bias=False)(x)
    for mult in (1, 2, 4):
        x = _residual_block(layers, x, recipe.width * mult, stride=2)
    x = _bn(layers)(x)
    x = layers.ReLU()(x)
    rep = layers.GlobalAveragePooling2D(name="representation")(x)
    encoder = keras.Model(x_in, rep, name="medganbench_encoder")
    h_in = keras.Input(shape=(4 * recipe.width,), name="representation")
    h = layers.Dense(recipe.hidden)(h_in)
    h = _bn(layers)(h)
    h = layers.ReLU()(h)
    h = layers.Dense(recipe.embedding, name="embedding")(h)
    head = keras.Model(h_in, h, name="medganbench_projector")
    return encoder, head


def feature_model(encoder, head, recipe: EncoderRecipe):
    """The feature space as one Keras model: ``float32 [-1, 1] (B, H, W, C)`` -> ``(B, recipe.dim)``."""
    keras = _keras()
    rep = encoder.output
    if recipe.features == "representation":
        out = rep
    elif recipe.features == "embedding":
        out = head(rep)
    else:
        out = keras.layers.Concatenate()([rep, head(rep)])
    return keras.Model(encoder.input, out, name="medganbench_features")


def augment(x, seed: int, step, view: int):
    """One augmented view of ``x`` (``float32 [-1, 1] (B, H, W, C)``), a pure function of (seed, step, view).

    Crop-and-rescale (scale 0.75-1, aspect 0.9-1.1), contrast x[0.8, 1.2] about the image mean,
    brightness +-0.1, Gaussian noise with sigma uniform in [0, 0.04].
    """
    import tensorflow as tf

    b = tf.shape(x)[0]
    size = tf.shape(x)[1:3]
    # One stateless seed pair per (seed, draw k) and (step, view): no hidden RNG state anywhere.
    def key(k):
        return tf.stack([tf.constant(int(seed) * 64 + k, tf.int64), tf.cast(step, tf.int64) * 2 + view])

    def uni(k, shape, lo, hi):
        return tf.random.stateless_uniform(shape, seed=key(k), minval=lo, maxval=hi)

    scale = uni(1, [b], 0.75, 1.0)
    aspect = uni(2, [b], 0.9, 1.1)
    h = tf.clip_by_value(scale * tf.sqrt(aspect), 0.5, 1.0)
    w = tf.clip_by_value(scale / tf.sqrt(aspect), 0.5, 1.0)
    y0 = uni(3, [b], 0.0, 1.0) * (1.0 - h)
    x0 = uni(4, [b], 0.0, 1.0) * (1.0 - w)
    boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
    x = tf.image.crop_and_resize(x, boxes, tf.range(b), size)
    contrast = uni(5, [b, 1, 1, 1], 0.8, 1.2)
    brightness = uni(6, [b, 1, 1, 1], -0.1, 0.1)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * contrast + mean + brightness
    sigma = uni(8, [b, 1, 1, 1], 0.0, 0.04)
    noise = tf.random.stateless_normal(tf.shape(x), seed=key(9))
    return x + noise * sigma


def vicreg_loss(z1, z2, recipe: EncoderRecipe):
    """VICReg loss of two batches of embeddings ``(B, D)`` (Bardes et al., 2022, eq. 6)."""
    import tensorflow as tf

    invariance = tf.reduce_mean(tf.square(z1 - z2))

    def var_cov(z):
        z = z - tf.reduce_mean(z, axis=0)
        std = tf.sqrt(tf.math.reduce_variance(z, axis=0) + 1e-4)
        var = tf.reduce_mean(tf.nn.relu(1.0 - std))
        n = tf.cast(tf.shape(z)[0], tf.float32)
        d = tf.cast(tf.shape(z)[1], tf.float32)
        cov = tf.matmul(z, z, transpose_a=True) / (n - 1.0)
        off = tf.reduce_sum(tf.square(cov)) - tf.reduce_sum(tf.square(tf.linalg.diag_part(cov)))
        return var, off / d

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    return (recipe.sim_weight * invariance + recipe.var_weight * (v1 + v2) / 2.0
            + recipe.cov_weight * (c1 + c2))


def train_encoder(images: np.ndarray, recipe: EncoderRecipe, seed: int = 0, log=None):
    """Train the VICReg encoder on ``uint8 (N, H, W, C)`` images (labels are never used).

    Returns ``(encoder, head, history, seconds)``; ``history``: one ``{"epoch", "step", "loss"}`` per epoch.
    ``log``: optional callable taking one line of text per epoch. ``seed`` seeds the Keras initialisers
    for this call only (:func:`medganbench.seeding.keras_seeded`: the caller's ``random`` / ``np.random`` /
    Keras global state is left as it was); the shipped extractors train in a process of their own for op
    determinism (:mod:`medganbench.metrics.train_extractor`).
    """
    from medganbench.imageconv import require_uint8_nhwc, to_float

    keras = _keras()
    import tensorflow as tf

    x = to_float(require_uint8_nhwc(images))
    if recipe.max_train_images:
        x = x[:recipe.max_train_images]
    if len(x) < 4:
        raise ConfigError(f"the encoder needs at least 4 training images, got {len(x)}.")
    with keras_seeded(seed):  # keras.utils.set_random_seed for this training only
        encoder, head = build_encoder(tuple(x.shape[1:]), recipe)
        batch = recipe.effective_batch(len(x))
        per_epoch = recipe.steps_per_epoch(len(x))
        steps = recipe.total_steps(len(x))
        schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=steps)
        optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=recipe.weight_decay)
        variables = encoder.trainable_variables + head.trainable_variables

        @tf.function
        def train_step(xb, step):
            with tf.GradientTape() as tape:
                z1 = head(encoder(augment(xb, seed, step, 0), training=True), training=True)
                z2 = head(encoder(augment(xb, seed, step, 1), training=True), training=True)
                loss = vicreg_loss(z1, z2, recipe)
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        rng = np.random.default_rng(seed)
        history, losses = [], []
        order, pos = rng.permutation(len(x)), 0
        t0 = time.perf_counter()
        for step in range(steps):
            if pos + batch > len(x):  # drop the ragged tail: VICReg's batch statistics want full batches
                order, pos = rng.permutation(len(x)), 0
            idx = order[pos:pos + batch]
            pos += batch
            losses.append(float(train_step(tf.constant(x[idx]), tf.constant(step, tf.int32))))
            if (step + 1) % per_epoch == 0 or step + 1 == steps:
                entry = {"epoch": (step + 1) / per_epoch, "step": step + 1, "loss": float(np.mean(losses))}
                history.append(entry)
                losses = []
                if log is not None:
                    log(f"step {step + 1}/{steps}  loss {entry['loss']:.4f}  {time.perf_counter() - t0:.0f} s")
        return encoder, head, history, time.perf_counter() - t0
