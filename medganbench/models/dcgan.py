"""DCGAN (Radford, Metz & Chintala, ICLR 2016) that adapts to 28/32/64/128 px and 1 or 3 channels.

Generator: ``z (B, latent_dim) -> Dense -> (s0, s0, F) -> [Conv2DTranspose stride 2, BN, ReLU] x k ->
Conv2D -> tanh`` where ``s0 * 2^k = size`` (28 = 7·2², 32 = 4·2³, 64 = 4·2⁴, 128 = 4·2⁵).
Discriminator: ``[Conv2D stride 2, (BN), LeakyReLU 0.2] x k -> Flatten -> Dense(1)`` logits.
Notebook ``03_dcgan_medmnist.ipynb`` trains it on PneumoniaMNIST.
"""

from __future__ import annotations

import dataclasses

from medganbench.errors import ConfigError
from medganbench.models.noise_gan import NoiseGAN, NoiseGANConfig


def upsampling_plan(size: int) -> tuple[int, int]:
    """``size -> (start_size, number_of_stride_2_blocks)``; e.g. 28 -> (7, 2), 64 -> (4, 4)."""
    s, k = int(size), 0
    while s % 2 == 0 and s // 2 >= 4:
        s //= 2
        k += 1
    if k < 1 or s > 7:
        raise ConfigError(f"DCGAN supports square sizes like 28, 32, 64, 128 (start 4..7 px doubled); got {size}")
    return s, k


@dataclasses.dataclass
class DCGANConfig(NoiseGANConfig):
    base_filters: int = dataclasses.field(default=64, metadata={"help": "filters of the widest-resolution layer"})
    max_filters: int = dataclasses.field(default=512, metadata={"help": "cap on filters per layer"})


def build_dcgan_generator(image_shape, latent_dim, base_filters, max_filters=512, num_classes=0,
                          name="generator"):
    """``z (B, latent_dim) [, labels (B,)] -> float32 (B,H,W,C)`` in ``[-1, 1]`` (tanh).

    With ``num_classes`` the label is embedded (``Embedding(num_classes, latent_dim)``) and multiplied
    into ``z`` (as in Miyato & Koyama's conditional generators, simplified).
    """
    import keras
    from keras import layers

    h, w, c = image_shape
    if h != w:
        raise ConfigError(f"DCGAN needs square images, got {h}x{w}")
    s0, k = upsampling_plan(h)
    filters = [min(max_filters, base_filters * 2 ** i) for i in range(k)][::-1]  # widest first
    z = keras.Input((latent_dim,), name="noise")
    inputs = [z]
    x = z
    if num_classes:
        y = keras.Input((), dtype="int32", name="labels")
        inputs.append(y)
        emb = layers.Embedding(num_classes, latent_dim, name="label_embedding")(y)
        x = layers.Multiply()([z, emb])
    x = layers.Dense(s0 * s0 * filters[0], use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((s0, s0, filters[0]))(x)
    for f in filters[1:] + [max(base_filters // 2, 16)]:
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv2D(c, 3, padding="same")(x)
    out = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(inputs if num_classes else z, out, name=name)


def build_dcgan_discriminator(image_shape, base_filters, max_filters=512, normalization="batch",
                              num_classes=0, name="discriminator", spectral_norm=False):
    """``images (B,H,W,C) [, labels (B,)] -> logits float32 (B, 1)``.

    normalization: ``"batch"`` (DCGAN), ``"layer"`` or ``"none"`` (WGAN-GP critics must not use batch norm:
    the penalty is per sample). With ``num_classes`` it is a projection discriminator
    (Miyato & Koyama, ICLR 2018): ``logit = w·φ(x) + embed(y)·φ(x)``. ``spectral_norm`` wraps every
    convolution and the output layer in ``keras.layers.SpectralNormalization`` (Miyato et al., ICLR 2018):
    each layer's largest singular value is held at 1, which bounds D's Lipschitz constant.
    """
    import keras
    from keras import layers

    sn = (lambda layer: layers.SpectralNormalization(layer)) if spectral_norm else (lambda layer: layer)

    h, _, c = image_shape
    _, k = upsampling_plan(h)
    img = keras.Input(image_shape, name="images")
    x = img
    for i in range(k):
        x = sn(layers.Conv2D(min(max_filters, base_filters * 2 ** i), 4, strides=2, padding="same",
                             use_bias=(normalization == "none" or i == 0)))(x)
        if i > 0 and normalization == "batch":
            x = layers.BatchNormalization()(x)
        elif i > 0 and normalization == "layer":
            x = layers.LayerNormalization(axis=[1, 2, 3])(x)
        x = layers.LeakyReLU(0.2)(x)
    features = layers.Flatten()(x)
    logits = sn(layers.Dense(1, dtype="float32", name="logits"))(features)
    if not num_classes:
        return keras.Model(img, logits, name=name)
    y = keras.Input((), dtype="int32", name="labels")
    emb = layers.Embedding(num_classes, features.shape[-1], name="label_projection")(y)
    projection = layers.Dot(axes=1, dtype="float32")([emb, features])
    logits = layers.Add(dtype="float32", name="projected_logits")([logits, projection])
    return keras.Model([img, y], logits, name=name)


class DCGAN(NoiseGAN):
    """Unconditional DCGAN with the non-saturating loss by default. See the module docstring."""

    config_class = DCGANConfig
    discriminator_normalization = "batch"

    def build_networks(self) -> dict:
        cfg = self.config
        ncls = self.num_classes if self.conditional else 0
        return {
            "generator": build_dcgan_generator(self.image_shape, cfg.latent_dim, cfg.base_filters,
                                               cfg.max_filters, ncls),
            "discriminator": build_dcgan_discriminator(self.image_shape, cfg.base_filters, cfg.max_filters,
                                                       self.discriminator_normalization, ncls,
                                                       spectral_norm=cfg.spectral_norm),
        }
