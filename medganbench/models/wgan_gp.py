"""WGAN-GP (Gulrajani et al., NeurIPS 2017): DCGAN-shaped critic without batch norm, Wasserstein loss,
gradient penalty λ=10, ``n_critic=5`` critic updates per generator update, Adam(1e-4, 0.0, 0.9).

The critic reuses the same real batch for its ``n_critic`` updates (as the Keras example does).
Notebook ``02_first_gan_mlp.ipynb`` shows why the Wasserstein loss needs this Lipschitz constraint.
"""

from __future__ import annotations

import dataclasses

from medganbench.models.dcgan import DCGAN, DCGANConfig


@dataclasses.dataclass
class WGANGPConfig(DCGANConfig):
    loss: str = dataclasses.field(default="wasserstein", metadata={"help": "loss family"})
    n_critic: int = dataclasses.field(default=5, metadata={"help": "critic updates per generator update"})
    gradient_penalty_weight: float = dataclasses.field(default=10.0, metadata={"help": "WGAN-GP lambda"})
    learning_rate_generator: float = dataclasses.field(default=1e-4, metadata={"help": "Adam lr of G"})
    learning_rate_discriminator: float = dataclasses.field(default=1e-4, metadata={"help": "Adam lr of the critic"})
    beta_1: float = dataclasses.field(default=0.0, metadata={"help": "Adam beta_1"})
    beta_2: float = dataclasses.field(default=0.9, metadata={"help": "Adam beta_2"})


class WGANGP(DCGAN):
    config_class = WGANGPConfig
    discriminator_normalization = "none"
