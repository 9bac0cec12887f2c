"""One registry of names -> data sets, models and losses, shared by the CLI, notebooks and benchmark.

Entries are *lazy*: an entry stores ``"module:attribute"`` and imports it only when asked for,
so that listing what exists (``medganbench data list``, ``--help``) never imports TensorFlow.

Usage::

    from medganbench.registry import MODELS
    MODELS.names()                  # ['cdcgan', 'dcgan', ...]
    cls = MODELS.get("dcgan")       # imports medganbench.models.dcgan
    MODELS.info("dcgan")            # {'target': ..., 'summary': ...}
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any

from medganbench.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "package.module:attribute"
    summary: str = ""
    meta: dict = field(default_factory=dict)


class Registry:
    """A named, lazily imported catalogue (in the spirit of torch-fidelity's registries)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, target: str, summary: str = "", **meta: Any) -> None:
        if name in self._entries and self._entries[name].target != target:
            raise ValueError(f"{self.kind} {name!r} is already registered as {self._entries[name].target}")
        self._entries[name] = Entry(name, target, summary, dict(meta))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"Unknown {self.kind} {name!r}.{hint} Known: {', '.join(self.names())}."
            ) from None

    def info(self, name: str) -> dict:
        e = self.entry(name)
        return {"name": e.name, "target": e.target, "summary": e.summary, **e.meta}

    def get(self, name: str) -> Any:
        """Import and return the registered object."""
        module, _, attr = self.entry(name).target.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
        return obj


DATASETS = Registry("data set")
MODELS = Registry("model")
LOSSES = Registry("loss family")

# --- data sets -------------------------------------------------------------------------------
# Every 2D MedMNIST flag is added from medmnist's own INFO catalogue (see data/catalog.py);
# the procedural phantoms need no download.
DATASETS.add("phantoms", "medganbench.data.phantoms:load_phantoms",
             "Procedural elliptical organ phantoms with/without a lesion (synthetic, instant).",
             source="procedural")


def _add_medmnist() -> None:
    from medganbench.data.catalog import medmnist_2d_flags

    for flag in medmnist_2d_flags():
        DATASETS.add(flag, "medganbench.data.medmnist:load_medmnist", f"MedMNIST v2 {flag}",
                     source="medmnist")


_add_medmnist()

# --- models ------------------------------------------------------------------------------------
MODELS.add("mlp", "medganbench.models.mlp:MLPGAN", "Fully connected GAN (Goodfellow et al., 2014).")
MODELS.add("dcgan", "medganbench.models.dcgan:DCGAN", "Deep convolutional GAN (Radford et al., 2016).")
MODELS.add("cdcgan", "medganbench.models.cdcgan:ConditionalDCGAN",
           "Class-conditional DCGAN with a projection discriminator (Miyato & Koyama, 2018).")
MODELS.add("wgan-gp", "medganbench.models.wgan_gp:WGANGP",
           "Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).")
MODELS.add("vae", "medganbench.models.vae:VAE",
           "Variational autoencoder with the DCGAN generator as decoder (Kingma & Welling, 2014).")
MODELS.add("autoencoder", "medganbench.models.autoencoder:Autoencoder",
           "Plain convolutional autoencoder (contrast for the VAE; sampling from N(0, I) is not its job).")
MODELS.add("pix2pix", "medganbench.models.pix2pix:Pix2Pix",
           "Paired image-to-image translation: U-Net + PatchGAN (Isola et al., 2017).", task="translation")
MODELS.add("cyclegan", "medganbench.models.cyclegan:CycleGAN",
           "Unpaired translation with cycle consistency (Zhu et al., 2017).", task="translation")

# --- losses ------------------------------------------------------------------------------------
# Each family has <family>_generator_loss and <family>_discriminator_loss in medganbench.losses.
for _family, _summary in [
    ("minimax", "Original saturating minimax loss (Goodfellow et al., 2014)."),
    ("nonsaturating", "Non-saturating generator loss (Goodfellow et al., 2014)."),
    ("lsgan", "Least-squares GAN (Mao et al., 2017)."),
    ("hinge", "Hinge loss (Lim & Ye, 2017; Miyato et al., 2018)."),
    ("wasserstein", "Wasserstein critic loss (Arjovsky et al., 2017)."),
]:
    LOSSES.add(_family, f"medganbench.losses:{_family}_generator_loss", _summary,
               discriminator=f"medganbench.losses:{_family}_discriminator_loss")
