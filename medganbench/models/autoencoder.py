"""A plain convolutional autoencoder, trained by the same Trainer as the GANs (contrast for the VAE).

Encoder: ``[Conv2D stride 2, LeakyReLU 0.2] x k -> Flatten -> Dense(latent_dim)``; decoder: exactly the
DCGAN generator (:func:`~medganbench.models.dcgan.build_dcgan_generator`), so a comparison with the GAN
changes the *training objective*, not the network. Loss: mean squared reconstruction error.

Nothing shapes an autoencoder's latent space, so decoding ``z ~ N(0, I)`` (what ``medganbench sample`` does
for every generator) lands where no training image was encoded: samples are poor by design. Notebook
``09_gan_vs_vae.ipynb`` measures this next to the VAE (:mod:`medganbench.models.vae`) and the GAN.
"""

from __future__ import annotations

import dataclasses

from medganbench.models.base import GANConfig, GANModel
from medganbench.models.noise_gan import NoiseGAN


@dataclasses.dataclass
class AutoencoderConfig(GANConfig):
    latent_dim: int = dataclasses.field(default=32, metadata={"help": "size of the code z"})
    base_filters: int = dataclasses.field(default=64, metadata={"help": "filters of the widest-resolution layer"})
    max_filters: int = dataclasses.field(default=512, metadata={"help": "cap on filters per layer"})
    learning_rate_generator: float = dataclasses.field(default=1e-3, metadata={"help": "Adam lr of the decoder"})
    learning_rate_discriminator: float = dataclasses.field(default=1e-3, metadata={"help": "Adam lr of the encoder"})
    beta_1: float = dataclasses.field(default=0.9, metadata={"help": "Adam beta_1"})


def build_encoder(image_shape, outputs: int, base_filters: int, max_filters: int = 512, name="encoder"):
    """``images (B,H,W,C) in [-1,1] -> float32 (B, outputs)`` (a DCGAN discriminator body without norm)."""
    import keras
    from keras import layers

    from medganbench.models.dcgan import upsampling_plan

    _, k = upsampling_plan(image_shape[0])
    img = keras.Input(image_shape, name="images")
    x = img
    for i in range(k):
        x = layers.Conv2D(min(max_filters, base_filters * 2 ** i), 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    return keras.Model(img, layers.Dense(outputs, dtype="float32", name="code")(x), name=name)


class Autoencoder(GANModel):
    """``networks = {"generator": decoder z -> image, "encoder": image -> z}``; one Adam per network."""

    config_class = AutoencoderConfig
    ema_networks = ("generator",)

    def _encoder_outputs(self) -> int:
        return self.config.latent_dim

    def build_networks(self) -> dict:
        from medganbench.models.dcgan import build_dcgan_generator

        cfg = self.config
        return {"generator": build_dcgan_generator(self.image_shape, cfg.latent_dim, cfg.base_filters,
                                                   cfg.max_filters),
                "encoder": build_encoder(self.image_shape, self._encoder_outputs(), cfg.base_filters,
                                         cfg.max_filters)}

    def encode(self, images, training=False):
        """``float32 (B,H,W,C)`` in ``[-1,1]`` -> code ``(B, latent_dim)`` (the VAE returns the mean)."""
        return self.networks["encoder"](images, training=training)

    def reconstruct(self, images, networks: dict | None = None):
        """``float32 (N,H,W,C)`` in ``[-1,1]`` -> reconstructions, same shape, numpy (inference mode)."""
        import numpy as np

        nets = networks or self.networks
        codes = np.asarray(self.encode(images))
        return self.generate(noise=codes, generator=nets["generator"])

    def _losses(self, real, training=True):
        import tensorflow as tf

        z = self.networks["encoder"](real, training=training)
        recon = self.networks["generator"](z, training=training)
        mse = tf.reduce_mean(tf.square(tf.cast(recon, tf.float32) - real))
        return {"reconstruction_loss": mse, "loss": mse}

    def train_step(self, batch: dict) -> dict:
        """One Adam step of encoder and decoder on ``{"images": float32 (B,H,W,C) in [-1,1]}``.

        Returns ``loss`` (what is minimised), its parts (``reconstruction_loss``, the VAE adds ``kl``) and the
        gradient norms of both networks.
        """
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            out = self._losses(batch["images"])
        out["generator_grad_norm"] = self.apply_update("generator", tape, out["loss"])
        out["encoder_grad_norm"] = self.apply_update("encoder", tape, out["loss"])
        del tape
        return out

    # Sampling is the noise GANs' own: z ~ N(0, I) through the decoder ("generator").
    sample_noise = NoiseGAN.sample_noise
    default_labels = NoiseGAN.default_labels
    generate = NoiseGAN.generate
    grid_inputs = NoiseGAN.grid_inputs
    grid_images = NoiseGAN.grid_images
