"""GAN models by name: ``build("dcgan", (28, 28, 1))`` -> a :class:`~medganbench.models.base.GANModel`.

Names come from ``medganbench.registry.MODELS`` (mlp, dcgan, cdcgan, wgan-gp, vae, autoencoder, pix2pix, cyclegan).
Importing this package does not import TensorFlow; building a model does.
"""

from __future__ import annotations


def model_class(name: str):
    from medganbench.registry import MODELS

    return MODELS.get(name)


def make_config(name: str, **overrides):
    """The model's config dataclass with ``overrides`` applied (unknown key -> ConfigError naming it)."""
    from medganbench.config import from_dict

    return from_dict(model_class(name).config_class, overrides)


def build(name: str, image_shape, num_classes: int = 0, **overrides):
    """Build model ``name`` for images ``(H, W, C)`` with config ``overrides``.

    Raises :class:`~medganbench.errors.ConfigError` for an unknown model or config key.
    Call ``medganbench.runtime.configure_tensorflow()`` first on GPUs (the Trainer does).
    """
    from medganbench.runtime import configure_tensorflow

    cls = model_class(name)
    config = make_config(name, **overrides)
    configure_tensorflow()
    return cls(tuple(image_shape), num_classes, config)
