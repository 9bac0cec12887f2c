"""Shared training step of the noise -> image GANs (mlp, dcgan, cdcgan, wgan-gp).

Subclasses only build the two networks; the step (n_critic discriminator updates, then one
generator update, any loss family from ``registry.LOSSES``, optional gradient/R1 penalties) lives here.
Notebook ``02_first_gan_mlp.ipynb`` builds this step by hand and shows the classic mistakes it avoids.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from medganbench.models.base import GANConfig, GANModel

_PROBABILITY_FAMILIES = ("minimax", "nonsaturating")


@dataclasses.dataclass
class NoiseGANConfig(GANConfig):
    latent_dim: int = dataclasses.field(default=100, metadata={"help": "size of the noise vector z"})
    loss: str = dataclasses.field(default="nonsaturating",
                                  metadata={"help": "loss family: minimax, nonsaturating, lsgan, hinge, wasserstein"})
    n_critic: int = dataclasses.field(default=1, metadata={"help": "discriminator updates per generator update"})
    gradient_penalty_weight: float = dataclasses.field(default=0.0, metadata={"help": "WGAN-GP lambda (0 = off)"})
    r1_weight: float = dataclasses.field(default=0.0, metadata={"help": "R1 gamma (0 = off)"})
    label_smoothing: float = dataclasses.field(default=0.0,
                                               metadata={"help": "one-sided label smoothing of real labels"})
    diffaugment: str = dataclasses.field(
        default="", metadata={"help": "DiffAugment policy for D's inputs, e.g. color,translation,cutout ('' = off)"})
    spectral_norm: bool = dataclasses.field(
        default=False, metadata={"help": "spectral normalisation of every discriminator layer (Miyato et al., 2018)"})


class NoiseGAN(GANModel):
    """A generator ``z (B, latent_dim) [+ labels (B,)] -> float32 (B,H,W,C) in [-1, 1]`` and a discriminator
    ``images [+ labels] -> logits (B, 1)``. Conditional subclasses set ``conditional = True``; their
    networks then take ``[inputs, labels]``."""

    config_class = NoiseGANConfig

    def __init__(self, image_shape, num_classes: int = 0, config=None):
        from medganbench.diffaugment import parse_policy
        from medganbench.errors import ConfigError
        from medganbench.losses import get_loss_family

        cfg = config if config is not None else self.config_class()
        self._generator_loss, self._discriminator_loss = get_loss_family(cfg.loss)
        self._augment_policy = parse_policy(cfg.diffaugment)  # fails early on a typo
        if cfg.n_critic < 1:
            raise ConfigError(f"n_critic must be >= 1, got {cfg.n_critic}")
        if self.conditional and int(num_classes) < 2:
            raise ConfigError(f"{type(self).__name__} is class-conditional and needs num_classes >= 2, "
                              f"got {num_classes}")
        super().__init__(image_shape, num_classes, cfg)

    # --- inputs ----------------------------------------------------------------------------
    def _gen_inputs(self, noise, labels):
        return [noise, labels] if self.conditional else noise

    def _disc(self, images, labels, training=True):
        """D's logits; with DiffAugment the images are augmented first (real and fake alike, differentiably)."""
        if self._augment_policy:
            from medganbench.diffaugment import diff_augment

            images = diff_augment(images, self._augment_policy, self.rng)
        d = self.networks["discriminator"]
        return d([images, labels], training=training) if self.conditional else d(images, training=training)

    def _summary(self, logits):
        import tensorflow as tf

        logits = tf.cast(logits, tf.float32)
        if self.config.loss in _PROBABILITY_FAMILIES:
            return tf.reduce_mean(tf.sigmoid(logits))
        return tf.reduce_mean(logits)

    def _d_loss(self, real_logits, fake_logits):
        if self.config.label_smoothing and self.config.loss in _PROBABILITY_FAMILIES:
            from medganbench.losses import cross_entropy_discriminator_loss

            return cross_entropy_discriminator_loss(real_logits, fake_logits, 1.0 - self.config.label_smoothing)
        return self._discriminator_loss(real_logits, fake_logits)

    def train_step(self, batch: dict) -> dict:
        """``n_critic`` discriminator updates then one generator update on one real batch.

        batch: ``{"images": float32 (B,H,W,C) in [-1,1], "labels": int32 (B,)}`` (labels used only when
        conditional). Returns ``discriminator_loss``, ``generator_loss``, ``d_real``/``d_fake`` (mean
        D(x), D(G(z)): probabilities for cross-entropy losses, raw scores otherwise) and gradient norms.
        """
        import tensorflow as tf

        from medganbench.losses import gradient_penalty, r1_penalty

        cfg = self.config
        real = batch["images"]
        b = tf.shape(real)[0]
        labels = tf.cast(batch["labels"], tf.int32) if self.conditional else None
        G = self.networks["generator"]
        out = {}
        for _ in range(cfg.n_critic):
            noise = self.rng.normal([b, cfg.latent_dim])
            alpha = self.rng.uniform([b, 1, 1, 1]) if cfg.gradient_penalty_weight else None
            with tf.GradientTape() as tape:
                fake = G(self._gen_inputs(noise, labels), training=True)
                real_logits = self._disc(real, labels)
                fake_logits = self._disc(fake, labels)
                d_loss = self._d_loss(real_logits, fake_logits)
                total = d_loss
                if cfg.gradient_penalty_weight:
                    gp = gradient_penalty(lambda x: self._disc(x, labels), real, fake, alpha=alpha)
                    total = total + cfg.gradient_penalty_weight * gp
                    out["gradient_penalty"] = gp
                if cfg.r1_weight:
                    r1 = r1_penalty(lambda x: self._disc(x, labels), real)
                    total = total + 0.5 * cfg.r1_weight * r1
                    out["r1_penalty"] = r1
            out["discriminator_grad_norm"] = self.apply_update("discriminator", tape, total)
        noise = self.rng.normal([b, cfg.latent_dim])
        with tf.GradientTape() as tape:
            fake = G(self._gen_inputs(noise, labels), training=True)
            gen_logits = self._disc(fake, labels)
            g_loss = self._generator_loss(gen_logits)
        out["generator_grad_norm"] = self.apply_update("generator", tape, g_loss)
        out.update(discriminator_loss=d_loss, generator_loss=g_loss,
                   d_real=self._summary(real_logits), d_fake=self._summary(fake_logits))
        return out

    # --- generation ------------------------------------------------------------------------
    def sample_noise(self, n: int, seed: int | None = None) -> np.ndarray:
        """``float32 (n, latent_dim)`` standard normal noise (numpy; seeded when ``seed`` is given)."""
        return np.random.default_rng(seed).standard_normal((n, self.config.latent_dim)).astype(np.float32)

    def default_labels(self, n: int) -> np.ndarray | None:
        return (np.arange(n) % self.num_classes).astype(np.int32) if self.conditional else None

    def generate(self, n: int | None = None, noise=None, labels=None, seed: int | None = None,
                 generator=None, batch_size: int = 256):
        """Images ``float32 (N,H,W,C)`` in ``[-1, 1]`` from ``noise`` (or ``n`` fresh draws with ``seed``).

        labels: ``(N,)`` ints for conditional models (default: classes in turn). ``generator`` defaults to
        ``networks["generator"]`` (the Trainer passes its EMA copy). Runs in inference mode, in batches.
        """
        if noise is None:
            if n is None:
                raise ValueError("give n or noise")
            noise = self.sample_noise(n, seed)
        noise = np.asarray(noise, np.float32)
        if self.conditional:
            labels = self.default_labels(len(noise)) if labels is None else np.asarray(labels).reshape(-1)
            labels = labels.astype(np.int32)
        return generate_with(generator if generator is not None else self.generator, noise, labels, batch_size)

    def grid_inputs(self, n: int, seed: int) -> dict:
        return {"noise": self.sample_noise(n, seed), "labels": self.default_labels(n)}

    def grid_images(self, inputs: dict, networks: dict | None = None):
        generator = (networks or self.networks)["generator"]
        return self.generate(noise=inputs["noise"], labels=inputs.get("labels"), generator=generator)


def generate_with(generator, noise: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 256):
    """Run a (possibly reloaded) generator in inference mode -> ``float32 (N,H,W,C)`` numpy in ``[-1, 1]``."""
    import tensorflow as tf

    run = _compiled_generate(generator)
    parts = []
    for start in range(0, len(noise), batch_size):
        z = tf.constant(noise[start:start + batch_size])
        args = (z,) if labels is None else (z, tf.constant(labels[start:start + batch_size]))
        parts.append(run(*args).numpy())
    if not parts:
        return np.zeros((0,) + tuple(generator.output_shape[1:]), np.float32)
    return np.concatenate(parts)


_COMPILED: weakref.WeakKeyDictionary | None = None  # generator -> tf.function (one trace per generator)


def _compiled_generate(generator):
    global _COMPILED

    import tensorflow as tf

    if _COMPILED is None:
        _COMPILED = weakref.WeakKeyDictionary()
    fn = _COMPILED.get(generator)
    if fn is None:
        spec = [tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype) for t in generator.inputs]

        @tf.function(input_signature=spec)
        def fn(*args):
            return tf.cast(generator(list(args) if len(args) > 1 else args[0], training=False), tf.float32)

        _COMPILED[generator] = fn
    return fn
