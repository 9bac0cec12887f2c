"""Who a domain extractor is: its id, version and the shipped ones (no TensorFlow, no training).

Both :mod:`medganbench.metrics.domain` (which loads extractors) and :mod:`medganbench.metrics.train_extractor`
(which trains one in a child process and names it) need the identity; it lives here so neither imports the
other for it (no import cycle).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from medganbench.classifier import ClassifierRecipe
from medganbench.errors import ConfigError
from medganbench.io import sha256_file
from medganbench.metrics.encoder import EncoderRecipe

#: Bump when the extractor's code changes in a way that changes its features.
#: 2: VICReg encoder by default; weights stored and hashed as arrays; deterministic training.
EXTRACTOR_VERSION = 2

#: Where the shipped reference extractors live (one folder per id: weights.npz + meta.json).
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"

_SHA_CACHE: dict[tuple, str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, cached per (path, size, mtime) for the process."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def dataset_key(dataset: str) -> str:
    """A stable name for the data set: its MedMNIST flag, or ``<stem>-<sha8>`` for a custom ``.npz``."""
    if str(dataset).endswith(".npz"):
        return f"{Path(dataset).stem}-{file_sha256(dataset)[:8]}"
    return str(dataset)


def extractor_method(recipe) -> str:
    """``"vicreg"`` (an :class:`EncoderRecipe`'s kind) or ``"classifier"``; anything else is refused."""
    if isinstance(recipe, EncoderRecipe):
        return recipe.kind
    if isinstance(recipe, ClassifierRecipe):
        return "classifier"
    raise ConfigError(f"recipe must be an EncoderRecipe or a ClassifierRecipe, got {type(recipe).__name__}.")


def extractor_id(dataset: str, size: int, recipe, seed: int) -> str:
    """``domain-<dataset>-<size>-<12 hex>``: a hash of data set, size, method, recipe, seed and extractor version."""
    key = dataset_key(dataset)
    blob = json.dumps({"dataset": key, "size": int(size), "method": extractor_method(recipe), "recipe": recipe.to_dict(),
                       "seed": int(seed), "version": EXTRACTOR_VERSION}, sort_keys=True)
    return f"domain-{key}-{int(size)}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def shipped_extractors() -> dict[str, Path]:
    """``{id: folder}`` of the extractors shipped inside the package."""
    if not SHIPPED_DIR.is_dir():
        return {}
    return {f.name: f for f in sorted(SHIPPED_DIR.iterdir()) if (f / "meta.json").is_file()}
