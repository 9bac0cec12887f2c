"""The classic fully connected GAN (Goodfellow et al., NeurIPS 2014), written correctly.

Generator: ``z -> Dense 256 -> 512 -> 1024 (LeakyReLU) -> Dense H·W·C, tanh -> reshape`` so its output
range ``[-1, 1]`` matches the data scaling; discriminator: ``flatten -> Dense 512 -> 256 -> 1`` logits.
The shared step computes G's output inside the gradient tape and uses separate losses for G and D.
Notebook ``02_first_gan_mlp.ipynb`` builds it by hand and shows the mistakes this avoids.
"""

from __future__ import annotations

import dataclasses

from medganbench.models.noise_gan import NoiseGAN, NoiseGANConfig


@dataclasses.dataclass
class MLPGANConfig(NoiseGANConfig):
    latent_dim: int = dataclasses.field(default=64, metadata={"help": "size of the noise vector z"})
    generator_units: tuple[int, ...] = dataclasses.field(default=(256, 512, 1024),
                                                         metadata={"help": "hidden widths of G"})
    discriminator_units: tuple[int, ...] = dataclasses.field(default=(512, 256),
                                                             metadata={"help": "hidden widths of D"})


def build_mlp_generator(image_shape, latent_dim, units):
    """``z (B, latent_dim) -> float32 (B,H,W,C)`` in ``[-1, 1]``."""
    import keras
    import numpy as np
    from keras import layers

    z = keras.Input((latent_dim,), name="noise")
    x = z
    for u in units:
        x = layers.Dense(u)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(int(np.prod(image_shape)))(x)
    x = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, layers.Reshape(image_shape, name="image")(x), name="generator")


def build_mlp_discriminator(image_shape, units, spectral_norm=False):
    """``images (B,H,W,C) -> logits (B, 1)``; ``spectral_norm`` wraps every Dense layer (Miyato et al., 2018)."""
    import keras
    from keras import layers

    sn = (lambda layer: layers.SpectralNormalization(layer)) if spectral_norm else (lambda layer: layer)
    img = keras.Input(image_shape, name="images")
    x = layers.Flatten()(img)
    for u in units:
        x = sn(layers.Dense(u))(x)
        x = layers.LeakyReLU(0.2)(x)
    return keras.Model(img, sn(layers.Dense(1, dtype="float32", name="logits"))(x), name="discriminator")


class MLPGAN(NoiseGAN):
    config_class = MLPGANConfig

    def build_networks(self) -> dict:
        cfg = self.config
        return {"generator": build_mlp_generator(self.image_shape, cfg.latent_dim, cfg.generator_units),
                "discriminator": build_mlp_discriminator(self.image_shape, cfg.discriminator_units,
                                                                 cfg.spectral_norm)}
