"""Class-conditional DCGAN: label embedding in the generator, projection discriminator.

Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018. The augmentation-gain benchmark
uses it to generate labelled images. Notebook ``03_dcgan_medmnist.ipynb`` teaches the DCGAN it extends.
"""

from __future__ import annotations

from medganbench.models.dcgan import DCGAN, DCGANConfig


class ConditionalDCGAN(DCGAN):
    """DCGAN whose networks take ``[images_or_noise, labels int32 (B,)]``; needs ``num_classes >= 2``."""

    config_class = DCGANConfig
    conditional = True
