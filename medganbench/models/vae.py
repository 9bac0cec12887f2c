"""Variational autoencoder (Kingma & Welling, ICLR 2014), trained by the same Trainer as the GANs.

Encoder ``x -> (μ, log σ²)`` of ``q(z|x) = N(μ, σ²)``; decoder = the DCGAN generator ``z -> x̂`` in ``[-1, 1]``.
Loss per image (negative ELBO, in nats, averaged over the batch)::

    L = ||x - x̂||² / (2 s²)  +  β · KL(q(z|x) || N(0, I)),   KL = ½ Σ_j (μ_j² + σ_j² - log σ_j² - 1)

with ``z = μ + σ·ε`` (the reparameterisation trick, so gradients reach the encoder) and ``s`` the assumed
pixel noise (``reconstruction_sigma``). The KL term pulls every code towards ``N(0, I)``, which is why
decoding ``z ~ N(0, I)`` (``medganbench sample``) gives plausible images, unlike a plain autoencoder;
the Gaussian pixel likelihood averages over what the code does not pin down, which is why they are blurry.
Notebook ``09_gan_vs_vae.ipynb`` measures both effects against the GAN.
"""

from __future__ import annotations

import dataclasses

from medganbench.models.autoencoder import Autoencoder, AutoencoderConfig


@dataclasses.dataclass
class VAEConfig(AutoencoderConfig):
    beta: float = dataclasses.field(default=1.0, metadata={"help": "weight of the KL term (beta-VAE; 1 = ELBO)"})
    reconstruction_sigma: float = dataclasses.field(
        default=0.2, metadata={"help": "assumed pixel noise s of the Gaussian likelihood, in [-1,1] units"})


class VAE(Autoencoder):
    """Encoder outputs ``2 * latent_dim`` values: μ then log σ². See the module docstring."""

    config_class = VAEConfig

    def __init__(self, image_shape, num_classes: int = 0, config=None):
        from medganbench.errors import ConfigError

        cfg = config if config is not None else self.config_class()
        if cfg.reconstruction_sigma <= 0 or cfg.beta < 0:
            raise ConfigError(f"VAE needs reconstruction_sigma > 0 and beta >= 0, got "
                              f"{cfg.reconstruction_sigma} and {cfg.beta}")
        super().__init__(image_shape, num_classes, cfg)

    def _encoder_outputs(self) -> int:
        return 2 * self.config.latent_dim

    def posterior(self, images, training=False):
        """``images -> (μ, log σ²)``, each ``float32 (B, latent_dim)``; log σ² clipped to [-10, 10]."""
        import tensorflow as tf

        h = self.networks["encoder"](images, training=training)
        mu, logvar = tf.split(h, 2, axis=-1)
        return mu, tf.clip_by_value(logvar, -10.0, 10.0)

    def encode(self, images, training=False):
        return self.posterior(images, training)[0]

    def _losses(self, real, training=True):
        import tensorflow as tf

        cfg = self.config
        mu, logvar = self.posterior(real, training)
        z = mu + tf.exp(0.5 * logvar) * self.rng.normal(tf.shape(mu))
        recon = tf.cast(self.networks["generator"](z, training=training), tf.float32)
        sq = tf.reduce_sum(tf.square(recon - real), axis=[1, 2, 3])
        nll = tf.reduce_mean(sq) / (2.0 * cfg.reconstruction_sigma ** 2)
        kl = tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - logvar - 1.0, axis=1))
        pixels = float(self.image_shape[0] * self.image_shape[1] * self.image_shape[2])
        return {"loss": nll + cfg.beta * kl, "reconstruction_loss": tf.reduce_mean(sq) / pixels, "kl": kl}
