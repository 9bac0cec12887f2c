"""A fixed, seeded classifier recipe for medical images (TensorFlow/Keras).

Used twice by the benchmark: as the *domain feature extractor* (trained once on a data set's
official training split; :mod:`medganbench.metrics.domain`) and as the judge of the *augmentation
gain* experiment (:mod:`medganbench.metrics.augmentation`). Same recipe everywhere, so numbers from
different generators are comparable.

The network is a small ResNet-style CNN (pre-activation residual blocks, widths w, 2w, 4w, global
average pooling -> ``4w``-d penultimate features -> one logit per class). Inputs are ``float32`` in
``[-1, 1]`` NHWC inside; the public functions take ``uint8 (N, H, W, C)`` images.

Augmentation: random translation by up to ``shift`` pixels (every data set) and flips only where the
anatomy allows (:data:`FLIP_POLICY`). Chest X-rays (PneumoniaMNIST, ChestMNIST) get NO flips: a chest
film is left-right asymmetric (heart, aortic arch, gastric bubble on the patient's left), so a mirrored
film shows a situs-inversus anatomy the test set never contains.

Model selection uses the validation split only (best validation AUC, checked once per epoch); the
test split is for final numbers only and is never seen here.

Public API::

    ClassifierRecipe(width=32, epochs=10, min_steps=300, batch_size=128, learning_rate=2e-3, ...)
    flips_for(dataset) -> ("none" | "horizontal" | "vertical" | "both", reason)
    train_classifier(images, labels, val_images, val_labels, recipe=None, seed=0, *, task="multi-class",
                     num_classes=None, dataset=None, progress=True) -> TrainedClassifier
    TrainedClassifier.predict_proba(images) -> float32 (N, K); .features(images) -> float64 (N, 4w)
    evaluate(model, images, labels, task=None) -> {"acc", "auc", "balanced_acc"}   (MedMNIST metrics)
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from medganbench.errors import ConfigError
from medganbench.imageconv import require_uint8_nhwc, to_float
from medganbench.seeding import keras_seeded

FLIP_POLICY: dict[str, tuple[str, str]] = {
    "pneumoniamnist": ("none", "chest X-rays are left-right asymmetric; a mirrored film shows situs inversus"),
    "chestmnist": ("none", "chest X-rays are left-right asymmetric; a mirrored film shows situs inversus"),
    "organamnist": ("none", "CT slices keep the patient's orientation (liver on one side)"),
    "organcmnist": ("none", "CT slices keep the patient's orientation (liver on one side)"),
    "organsmnist": ("none", "CT slices keep the patient's orientation (liver on one side)"),
    "pathmnist": ("both", "histology tiles have no preferred orientation"),
    "dermamnist": ("both", "dermatoscopy images have no canonical orientation"),
    "bloodmnist": ("both", "blood-smear cells have no orientation"),
    "tissuemnist": ("both", "kidney-cortex microscopy has no orientation"),
    "octmnist": ("horizontal", "a mirrored OCT B-scan is plausible; retinal layers keep their up-down order"),
    "retinamnist": ("horizontal", "a mirrored fundus looks like the other eye; up-down is fixed"),
    "breastmnist": ("horizontal", "ultrasound probe orientation varies left-right; depth runs top-down"),
}

TASKS = ("binary", "multi-class", "ordinal", "multi-label")


def flips_for(dataset: str | None) -> tuple[str, str]:
    """The flips the recipe allows for ``dataset`` and why (unknown data sets: none, to be safe)."""
    if dataset is None:
        return "none", "data set unknown: no flips (flips can change anatomy)"
    return FLIP_POLICY.get(dataset, ("none", f"{dataset} has no flip policy: no flips (flips can change anatomy)"))


@dataclass
class ClassifierRecipe:
    """The fixed training recipe. Changing any field changes the domain extractor's id."""

    width: int = field(default=32, metadata={"help": "channels of the first stage (stages: w, 2w, 4w)"})
    epochs: int = field(default=10, metadata={"help": "passes over the training images"})
    min_steps: int = field(default=300, metadata={"help": "at least this many updates (tiny subsets)"})
    batch_size: int = field(default=128, metadata={"help": "images per update (capped at the set size)"})
    learning_rate: float = field(default=2e-3, metadata={"help": "AdamW peak learning rate (cosine decay)"})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay"})
    shift: int = field(default=2, metadata={"help": "random translation in pixels (at 28 px)"})
    flips: str = field(default="auto", metadata={"help": "auto (per data set) | none | horizontal | vertical | both"})
    evals_per_epoch: int = field(default=1, metadata={"help": "validation checks per epoch (model selection)"})

    def total_steps(self, n: int) -> int:
        return max(self.min_steps, self.epochs * math.ceil(n / self.effective_batch(n)))

    def effective_batch(self, n: int) -> int:
        return max(1, min(self.batch_size, n))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from medganbench.runtime import configure_tensorflow

    configure_tensorflow()
    import keras

    return keras


def build_classifier(input_shape: tuple[int, int, int], num_outputs: int, width: int = 32):
    """The ResNet-style CNN: ``float32 [-1, 1] (B, H, W, C)`` -> logits ``(B, num_outputs)``.

    The layer named ``"features"`` (global average pool, ``4*width`` values) is the penultimate layer
    used as the domain feature space.
    """
    keras = _keras()
    layers = keras.layers
    x_in = keras.Input(shape=input_shape, name="images")
    x = x_in
    # Larger MedMNIST sizes (64/128/224) are downsampled in the stem so every size ends on a ~7x7 map.
    extra = max(0, int(round(math.log2(max(input_shape[0], 28) / 28))))
    x = layers.Conv2D(width, 3, strides=2 if extra else 1, padding="same", use_bias=False)(x)
    for _ in range(max(0, extra - 1)):
        x = _bn(layers)(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False)(x)
    # Every stage halves the map (28 -> 14 -> 7 -> 4): on a CPU a full-resolution stage costs ~2.5x the
    # time for no measurable AUC gain on 28 px images.
    for mult in (1, 2, 4):
        x = _residual_block(layers, x, width * mult, stride=2)
    x = _bn(layers)(x)
    x = layers.ReLU()(x)
    features = layers.GlobalAveragePooling2D(name="features")(x)
    logits = layers.Dense(num_outputs, name="logits")(features)
    return keras.Model(x_in, logits, name="medganbench_classifier")


def _bn(layers):
    # momentum 0.9, not Keras' 0.99: short CPU trainings (a few hundred steps) otherwise end with running
    # statistics that still remember their initial values, and inference collapses to one class.
    return layers.BatchNormalization(momentum=0.9)


def _residual_block(layers, x, filters: int, stride: int):
    # Pre-activation block (He et al., 2016, "Identity Mappings in Deep Residual Networks").
    h = _bn(layers)(x)
    h = layers.ReLU()(h)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        # Average-pool then 1x1 conv ("ResNet-D", He et al., 2019, Bag of Tricks). Also avoids a TF 2.21
        # oneDNN bug: the gradient of a 1x1 stride-2 Conv2D with an odd batch size corrupts the heap.
        if stride != 1:
            h_short = layers.AveragePooling2D(stride, strides=stride, padding="same")(h)
        else:
            h_short = h
        shortcut = layers.Conv2D(filters, 1, use_bias=False)(h_short)
    h = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(h)
    h = _bn(layers)(h)
    h = layers.ReLU()(h)
    h = layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
    return layers.Add()([shortcut, h])


def _to_float(images: np.ndarray) -> np.ndarray:
    """``uint8 (N, H, W[, C])`` -> ``float32 (N, H, W, C)`` in ``[-1, 1]``; anything else is refused."""
    return to_float(require_uint8_nhwc(images, "classifier inputs"))


def _targets(labels: np.ndarray, task: str) -> np.ndarray:
    labels = np.asarray(labels)
    if task == "multi-label":
        return labels.reshape(len(labels), -1).astype(np.float32)
    return labels.reshape(len(labels), -1)[:, 0].astype(np.int32)


class TrainedClassifier:
    """A trained classifier plus how it was made. ``model``: the Keras model (logits out)."""

    def __init__(self, model, *, task: str, num_classes: int, recipe: ClassifierRecipe, seed: int,
                 history: list[dict], best_step: int, flips: str, seconds: float):
        self.model = model
        self.task = task
        self.num_classes = num_classes
        self.recipe = recipe
        self.seed = seed
        self.history = history
        self.best_step = best_step
        self.flips = flips
        self.seconds = seconds
        self._feature_model = None
        self._predict_fn = None

    def _batched(self, fn, images: np.ndarray, batch: int = 512) -> np.ndarray:
        x = _to_float(images)
        if len(x) == 0:
            raise ConfigError("no images to classify")
        return np.concatenate([np.asarray(fn(x[i:i + batch])) for i in range(0, len(x), batch)])

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """images: ``uint8 (N, H, W, C)`` -> probabilities ``float32 (N, K)`` (softmax; sigmoid for multi-label)."""
        if self._predict_fn is None:
            import tensorflow as tf

            act = tf.sigmoid if self.task == "multi-label" else tf.nn.softmax
            # Compiled once: model selection calls this every epoch, and eager calls are ~3x slower.
            self._predict_fn = tf.function(lambda x: act(self.model(x, training=False)), reduce_retracing=True)
        return self._batched(self._predict_fn, images).astype(np.float32)

    def features(self, images: np.ndarray) -> np.ndarray:
        """images: ``uint8 (N, H, W, C)`` -> penultimate features ``float64 (N, 4*width)``."""
        if self._feature_model is None:
            keras = _keras()
            self._feature_model = keras.Model(self.model.input, self.model.get_layer("features").output)
        return self._batched(lambda x: self._feature_model(x, training=False), images).astype(np.float64)


def train_classifier(images: np.ndarray, labels: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray,
                     recipe: ClassifierRecipe | None = None, seed: int = 0, *, task: str = "multi-class",
                     num_classes: int | None = None, dataset: str | None = None,
                     progress: bool = True, desc: str = "classifier") -> TrainedClassifier:
    """Train the fixed recipe; keep the weights with the best validation AUC.

    images/val_images: ``uint8 (N, H, W, C)``; labels: ``(N,)`` or ``(N, 1)`` class ids
    (``(N, L)`` 0/1 for ``task="multi-label"``). ``task``: one of :data:`TASKS` (the data set card's
    ``task``). ``dataset`` picks the flip policy when ``recipe.flips == "auto"``.
    """
    recipe = recipe or ClassifierRecipe()
    if task not in TASKS:
        raise ConfigError(f"task={task!r}; choose one of {TASKS}.")
    keras = _keras()
    import tensorflow as tf

    with keras_seeded(seed):  # keras.utils.set_random_seed for this training only
        x = _to_float(images)
        y = _targets(labels, task)
        if len(x) != len(y):
            raise ConfigError(f"{len(x)} images but {len(y)} labels.")
        if num_classes is None:
            num_classes = int(y.shape[1]) if task == "multi-label" else int(max(y.max(), _targets(val_labels, task).max()) + 1)
        flips = flips_for(dataset)[0] if recipe.flips == "auto" else recipe.flips
        if flips not in ("none", "horizontal", "vertical", "both"):
            raise ConfigError(f"recipe.flips={recipe.flips!r}; choose auto, none, horizontal, vertical or both.")
        model = build_classifier(tuple(x.shape[1:]), num_classes, recipe.width)
        steps = recipe.total_steps(len(x))
        batch = recipe.effective_batch(len(x))
        schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=steps)
        optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=recipe.weight_decay)
        if task == "multi-label":
            loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        else:
            loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        aug = []
        shift_frac = recipe.shift / float(x.shape[1]) * (x.shape[1] / 28.0)
        if recipe.shift > 0:
            aug.append(keras.layers.RandomTranslation(shift_frac, shift_frac, fill_mode="reflect", seed=seed))
        if flips != "none":
            mode = {"both": "horizontal_and_vertical"}.get(flips, flips)
            aug.append(keras.layers.RandomFlip(mode, seed=seed + 1))
        augment = keras.Sequential(aug) if aug else None

        @tf.function
        def train_step(xb, yb):
            if augment is not None:
                xb = augment(xb, training=True)
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        trained = TrainedClassifier(model, task=task, num_classes=num_classes, recipe=recipe, seed=seed,
                                    history=[], best_step=0, flips=flips, seconds=0.0)
        steps_per_epoch = max(1, math.ceil(len(x) / batch))
        # Once per epoch, but at most ~10 checks in all: tiny subsets have 1-step epochs.
        eval_every = max(1, steps_per_epoch // max(1, recipe.evals_per_epoch), steps // 10)
        rng = np.random.default_rng(seed)
        order, pos = rng.permutation(len(x)), 0
        best_auc, best_weights = -np.inf, None
        t0 = time.perf_counter()
        bar = _bar(steps, desc, progress)
        for step in range(1, steps + 1):
            if pos + batch > len(x):
                order, pos = rng.permutation(len(x)), 0
            idx = order[pos:pos + batch]
            pos += batch
            loss = float(train_step(tf.constant(x[idx]), tf.constant(y[idx])))
            bar.update(1)
            if step % eval_every == 0 or step == steps:
                val = evaluate(trained, val_images, val_labels)
                trained.history.append({"step": step, "loss": loss, **{f"val_{k}": v for k, v in val.items()}})
                score = val["auc"] if val["auc"] is not None else val["acc"]
                if score > best_auc:
                    best_auc, best_weights, trained.best_step = score, model.get_weights(), step
                bar.set_postfix(loss=f"{loss:.3f}", val_auc=f"{score:.3f}")
        bar.close()
        if best_weights is not None:
            model.set_weights(best_weights)
        trained.seconds = time.perf_counter() - t0
        return trained


def _bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, leave=False)


def evaluate(model, images: np.ndarray, labels: np.ndarray, task: str | None = None) -> dict:
    """MedMNIST's metrics -> ``{"acc", "auc", "balanced_acc"}`` (floats; ``auc`` None if undefined).

    model: a :class:`TrainedClassifier` (or anything with ``predict_proba(images)`` and ``task``).
    images: ``uint8 (N, H, W, C)``; labels as in :func:`train_classifier`.
    ACC: argmax accuracy (binary: score of class 1 > 0.5; multi-label: mean per-label accuracy at 0.5).
    AUC: binary -> ROC AUC of class 1; multi-class -> macro mean of one-vs-rest AUCs (as MedMNIST's
    ``getAUC``); multi-label -> mean per-label AUC.
    """
    task = task or model.task
    return metrics_from_scores(np.asarray(labels), model.predict_proba(images), task)


def metrics_from_scores(labels: np.ndarray, scores: np.ndarray, task: str) -> dict:
    """ACC / AUC / balanced accuracy from labels and probabilities ``(N, K)`` (see :func:`evaluate`)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    scores = np.asarray(scores, dtype=np.float64)
    if task == "multi-label":
        y = np.asarray(labels).reshape(len(labels), -1)
        pred = scores > 0.5
        accs = [float(np.mean(pred[:, i] == y[:, i])) for i in range(y.shape[1])]
        bals = [float(balanced_accuracy_score(y[:, i], pred[:, i])) for i in range(y.shape[1])
                if len(np.unique(y[:, i])) > 1]
        aucs = [float(roc_auc_score(y[:, i], scores[:, i])) for i in range(y.shape[1]) if len(np.unique(y[:, i])) > 1]
        return {"acc": float(np.mean(accs)), "auc": float(np.mean(aucs)) if aucs else None,
                "balanced_acc": float(np.mean(bals)) if bals else None}
    y = np.asarray(labels).reshape(len(labels), -1)[:, 0].astype(np.int64)
    if task == "binary":
        pred = (scores[:, -1] > 0.5).astype(np.int64)
        auc = float(roc_auc_score(y, scores[:, -1])) if len(np.unique(y)) > 1 else None
    else:
        pred = np.argmax(scores, axis=1)
        aucs = [float(roc_auc_score(y == k, scores[:, k])) for k in range(scores.shape[1])
                if 0 < np.sum(y == k) < len(y)]
        auc = float(np.mean(aucs)) if aucs else None
    return {"acc": float(np.mean(pred == y)), "auc": auc,
            "balanced_acc": float(balanced_accuracy_score(y, pred))}
