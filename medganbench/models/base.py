"""The interface every model implements so that ONE :class:`~medganbench.train.Trainer` trains them all.

A :class:`GANModel` owns its networks, optimizers, a seeded random generator and one training step:

================  ===========================================================================
``config_class``  dataclass with defaults (``build(name, shape, **overrides)`` fills it)
``networks``      ``dict[str, keras.Model]``, e.g. ``{"generator": G, "discriminator": D}``
``optimizers``    ``dict[str, keras.optimizers.Optimizer]``, keyed like the networks they update
``rng``           ``tf.random.Generator`` used for every random draw inside ``train_step``
                  (checkpointed, so a resumed run draws the same noise as an uninterrupted one)
``train_step``    ``batch dict -> dict[str, scalar tensor]``; traced by the Trainer in ``tf.function``
``ema_networks``  names of networks whose exponential moving average the Trainer keeps
================  ===========================================================================

Batches are dicts of ``float32`` tensors in ``[-1, 1]`` NHWC: ``{"images", "labels" (int32 (B,))}`` for
generation; translation models (pix2pix, cyclegan) receive ``{"inputs", "targets"}`` instead (the
Trainer converts every ``uint8`` array it is given, whatever its key).

To add a model (e.g. pix2pix): subclass :class:`GANModel`, set ``config_class`` and ``ema_networks``,
implement ``build_networks()`` (return the networks dict), ``build_optimizers()``, ``train_step``,
``grid_inputs``/``grid_images`` (a translation model shows input | output | target side by side) and,
if it generates from noise, ``generate``. Register it in ``medganbench.registry.MODELS``.
Keep networks made of built-in Keras layers so ``generator.keras`` reloads without custom objects.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from medganbench.seeding import seeded


@dataclasses.dataclass
class GANConfig:
    """Fields every model config has (subclasses add their own)."""

    learning_rate_generator: float = dataclasses.field(default=2e-4, metadata={"help": "Adam lr of G"})
    learning_rate_discriminator: float = dataclasses.field(default=2e-4, metadata={"help": "Adam lr of D"})
    beta_1: float = dataclasses.field(default=0.5, metadata={"help": "Adam beta_1 (0.5 as in DCGAN)"})
    beta_2: float = dataclasses.field(default=0.999, metadata={"help": "Adam beta_2"})
    seed: int = dataclasses.field(default=0, metadata={"help": "seed of weights and in-step noise"})

    def __post_init__(self):
        # Every model config is range-checked when built: a bad --set value fails before any work.
        from medganbench.models.checks import check_config_values

        check_config_values(self)


def grouped_parameter_count(counts: dict) -> dict:
    """Per-network counts -> ``{"generator", "discriminator", "total"}`` (result.json's block): networks named
    ``generator*``/``discriminator*`` are summed (CycleGAN has two of each); None where a model has none."""
    def part(prefix):
        found = [int(v) for k, v in counts.items() if k.startswith(prefix)]
        return sum(found) if found else None

    g, d = part("generator"), part("discriminator")
    return {"generator": g, "discriminator": d, "total": None if g is None or d is None else g + d}


class GANModel:
    """Base class: see the module docstring for the contract."""

    config_class: ClassVar[type] = GANConfig
    conditional: bool = False
    ema_networks: tuple[str, ...] = ("generator",)

    def __init__(self, image_shape, num_classes: int = 0, config=None):
        import tensorflow as tf

        self.image_shape = tuple(int(s) for s in image_shape)
        if len(self.image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C), got {image_shape}")
        self.num_classes = int(num_classes)
        self.config = config if config is not None else self.config_class()
        # The seed goes to the initialisers (same seed, same starting weights), not to the global RNGs.
        with seeded(int(self.config.seed)):
            self.networks: dict[str, Any] = self.build_networks()
        self.optimizers: dict[str, Any] = self.build_optimizers()
        # Created inside the caller's strategy scope (if any) so each replica gets its own stream.
        self.rng = tf.random.Generator.from_seed(int(self.config.seed) + 1)
        for name, opt in self.optimizers.items():
            opt.build(self.networks[name].trainable_variables)

    # --- to implement ----------------------------------------------------------------------
    def build_networks(self) -> dict:
        raise NotImplementedError

    def build_optimizers(self) -> dict:
        return {name: self.adam(self.config.learning_rate_generator if name == "generator"
                                else self.config.learning_rate_discriminator)
                for name in self.networks}

    def train_step(self, batch: dict) -> dict:
        """One update of every player on ``batch``; returns scalar tensors (losses, D(x), ...)."""
        raise NotImplementedError

    def grid_inputs(self, n: int, seed: int) -> dict:
        """Fixed inputs for the sample grids (same ``seed`` -> same inputs)."""
        raise NotImplementedError

    def grid_images(self, inputs: dict, networks: dict | None = None):
        """What a grid shows for ``inputs``: ``float32 (N,H,W',C)`` in ``[-1, 1]``."""
        raise NotImplementedError

    # --- shared helpers --------------------------------------------------------------------
    def adam(self, learning_rate: float):
        import keras

        opt = keras.optimizers.Adam(learning_rate, beta_1=self.config.beta_1, beta_2=self.config.beta_2)
        import keras.mixed_precision as mp

        if mp.global_policy().compute_dtype == "float16":
            opt = keras.optimizers.LossScaleOptimizer(opt)
        return opt

    @property
    def generator(self):
        return self.networks["generator"]

    @property
    def discriminator(self):
        return self.networks["discriminator"]

    def parameter_counts(self, trainable_only: bool = False) -> dict[str, int]:
        """Parameters per network, e.g. ``{"generator": 1_000_000, ...}`` (all weights, or trainable ones);
        :func:`grouped_parameter_count` turns it into result.json's ``{generator, discriminator, total}``."""
        return {name: int(sum(int(np.prod(w.shape)) for w in (net.trainable_weights if trainable_only
                                                             else net.weights)))
                for name, net in self.networks.items()}

    def config_dict(self) -> dict:
        return dataclasses.asdict(self.config)

    def apply_update(self, name: str, tape, loss, variables=None):
        """Differentiate ``loss`` (scaled for replicas / mixed precision) and step optimizer ``name``.

        Returns the global gradient norm (before loss scaling) for logging.
        """
        import tensorflow as tf

        opt = self.optimizers[name]
        variables = variables if variables is not None else self.networks[name].trainable_variables
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tape:  # re-enter the caller's tape: the scaling must be recorded to be differentiated
            scaled = loss / float(replicas)
            if hasattr(opt, "scale_loss"):
                scaled = opt.scale_loss(scaled)
        grads = tape.gradient(scaled, variables)
        opt.apply_gradients(zip(grads, variables))
        norm = tf.linalg.global_norm([g for g in grads if g is not None])
        scale = getattr(opt, "dynamic_scale", None)
        if scale is not None:
            norm = norm / tf.cast(scale, norm.dtype)
        return norm * float(replicas)
