"""The domain feature extractor: the kit's classifier, trained on a data set's official training split.

Inception-v3 was trained on photographs of objects and needs downloaded weights; a chest X-ray is far
from ImageNet. The domain extractor needs no download: the fixed classifier recipe
(:mod:`medganbench.classifier`) is trained on the official *training* split with a fixed seed, model
selection on the official *validation* split, and its penultimate layer (``4 × width`` = 128 values)
is the feature space for FID/KID/precision-recall and memorization. Taught in
``notebooks/05_evaluating_gans.ipynb``.

Identity: ``id = "domain-<dataset>-<size>-<hash>"`` where the hash covers the data set (name, or the
sha256 of a custom ``.npz``), size, recipe, seed and :data:`EXTRACTOR_VERSION`. Results with different
ids are never compared. Training is not bit-reproducible across machines, so the spec also records
the sha256 of the trained weights file (``weights_sha256``).

Cache: ``$MEDGANBENCH_CACHE`` (default ``~/.cache/medganbench``)::

    extractors/<id>/model.keras, meta.json        the trained classifier and how it was made
    reference/<id>/<dataset>_<size>_<split>.npz   features, mu, sigma of a real split (+ data sha256)

Public API::

    DOMAIN_RECIPE                                      the fixed ClassifierRecipe
    get_domain_extractor(dataset, size=28, *, recipe=None, seed=0, root=None, cache_dir=None,
                         retrain=False, progress=True) -> DomainExtractor
    DomainExtractor.id, .dim, .spec, .weights_sha256, .meta, .features(images uint8 NHWC) -> float64 (N, D)
    reference_features(dataset, size, split, extractor, *, root=None, cache_dir=None) -> float64 (N, D)
    reference_statistics(dataset, size, split, extractor, ...) -> {"mu": (D,), "sigma": (D, D), "n": N}
    cache_root(cache_dir=None) -> Path
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from medganbench.classifier import ClassifierRecipe
from medganbench.errors import ConfigError
from medganbench.io import atomic_path, atomic_write_text, sha256_file

#: Bump when the extractor's code changes in a way that changes its features.
EXTRACTOR_VERSION = 1

#: The fixed recipe of the domain extractor (about 1-2 minutes on 2 CPU cores at 28 px).
DOMAIN_RECIPE = ClassifierRecipe(width=32, epochs=10, min_steps=300, batch_size=128, learning_rate=2e-3)

_SHA_CACHE: dict[tuple, str] = {}


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The kit's cache folder: ``cache_dir``, else ``$MEDGANBENCH_CACHE``, else ``~/.cache/medganbench``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("MEDGANBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "medganbench"


def _file_sha256(path: str | os.PathLike) -> str:
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def _dataset_key(dataset: str) -> str:
    """A stable name for the data set: its MedMNIST flag, or ``<stem>-<sha8>`` for a custom ``.npz``."""
    if str(dataset).endswith(".npz"):
        return f"{Path(dataset).stem}-{_file_sha256(dataset)[:8]}"
    return str(dataset)


def extractor_id(dataset: str, size: int, recipe: ClassifierRecipe, seed: int) -> str:
    """``domain-<dataset>-<size>-<12 hex>``: a hash of data set, size, recipe, seed and extractor version."""
    key = _dataset_key(dataset)
    blob = json.dumps({"dataset": key, "size": int(size), "recipe": recipe.to_dict(), "seed": int(seed),
                       "version": EXTRACTOR_VERSION}, sort_keys=True)
    return f"domain-{key}-{int(size)}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


class DomainExtractor:
    """A trained domain classifier used as a feature extractor (penultimate layer)."""

    kind = "domain"

    def __init__(self, classifier, meta: dict, weights_path: Path):
        self.classifier = classifier
        self.meta = meta
        self.id = meta["id"]
        self.dim = int(meta["dim"])
        self.weights_path = Path(weights_path)
        self.weights_sha256 = meta.get("weights_sha256") or sha256_file(weights_path)

    @property
    def spec(self) -> dict:
        """What a result must record about this extractor (goes into the evaluation spec)."""
        return {"id": self.id, "kind": self.kind, "weights_sha256": self.weights_sha256, "dim": self.dim,
                "dataset": self.meta["dataset"], "size": self.meta["size"], "seed": self.meta["seed"],
                "recipe": self.meta["recipe"], "feature_layer": "features (global average pool)",
                "preprocessing": "uint8 -> float32 [-1, 1], native resolution and channels",
                "version": EXTRACTOR_VERSION}

    def features(self, images: np.ndarray) -> np.ndarray:
        """images: ``uint8 (N, H, W, C)`` at the data set's size and channels -> ``float64 (N, dim)``."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        want = tuple(self.meta["image_shape"])
        if tuple(images.shape[1:]) != want:
            raise ConfigError(f"domain extractor {self.id} takes images of shape {want} (H, W, C), got "
                              f"{tuple(images.shape[1:])}; generate at the data set's size and channels.")
        return self.classifier.features(images)

    def __repr__(self) -> str:
        return f"DomainExtractor({self.id!r}, dim={self.dim})"


def _load(folder: Path) -> DomainExtractor:
    from medganbench.classifier import TrainedClassifier, _keras

    keras = _keras()
    meta = json.loads((folder / "meta.json").read_text())
    model = keras.models.load_model(folder / "model.keras", compile=False)
    clf = TrainedClassifier(model, task=meta["task"], num_classes=meta["num_classes"],
                            recipe=ClassifierRecipe(**meta["recipe"]), seed=meta["seed"], history=meta["history"],
                            best_step=meta["best_step"], flips=meta["flips"], seconds=meta["train_seconds"])
    return DomainExtractor(clf, meta, folder / "model.keras")


def get_domain_extractor(dataset: str, size: int = 28, *, recipe: ClassifierRecipe | None = None, seed: int = 0,
                         root=None, cache_dir=None, retrain: bool = False,
                         progress: bool = True) -> DomainExtractor:
    """Load the cached domain extractor for (dataset, size, recipe, seed), training it on first use.

    dataset: a MedMNIST flag (``"pneumoniamnist"``) or a MedMNIST-layout ``.npz`` path.
    Training uses the official train split; model selection the official val split (never test).
    """
    from medganbench.classifier import train_classifier
    from medganbench.data import load_dataset

    recipe = recipe or DOMAIN_RECIPE
    eid = extractor_id(dataset, size, recipe, seed)
    folder = cache_root(cache_dir) / "extractors" / eid
    if not retrain and (folder / "meta.json").is_file() and (folder / "model.keras").is_file():
        return _load(folder)
    train = load_dataset(dataset, "train", size=size, root=root)
    val = load_dataset(dataset, "val", size=size, root=root)
    task = train.card.get("task", "multi-class")
    clf = train_classifier(train.images, train.labels, val.images, val.labels, recipe, seed, task=task,
                           num_classes=train.num_classes, dataset=_dataset_key(dataset) if not str(dataset).endswith(
                               ".npz") else None, progress=progress, desc=f"domain extractor {eid}")
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.keras", suffix=".keras") as tmp:
        clf.model.save(tmp)
    best = next((h for h in clf.history if h["step"] == clf.best_step), {})
    meta = {
        "id": eid, "dataset": _dataset_key(dataset), "size": int(size), "seed": int(seed),
        "recipe": recipe.to_dict(), "task": task, "num_classes": int(clf.num_classes),
        "image_shape": list(train.images.shape[1:]), "dim": int(recipe.width * 4), "flips": clf.flips,
        "best_step": int(clf.best_step), "history": clf.history, "train_seconds": round(clf.seconds, 2),
        "val_metrics": {k[4:]: v for k, v in best.items() if k.startswith("val_")},
        "weights_sha256": sha256_file(folder / "model.keras"), "version": EXTRACTOR_VERSION,
        "created_unix": int(time.time()),
    }
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2))
    return DomainExtractor(clf, meta, folder / "model.keras")


def _reference_path(dataset: str, size: int, split: str, extractor, cache_dir) -> Path:
    return cache_root(cache_dir) / "reference" / extractor.id / f"{_dataset_key(dataset)}_{int(size)}_{split}.npz"


def reference_features(dataset: str, size: int, split: str, extractor, *, root=None, cache_dir=None) -> np.ndarray:
    """Features ``float64 (N, D)`` of a real split, cached per (data set, size, split, extractor id).

    The cache stores the data file's sha256 and is recomputed when the file changed.
    ``extractor``: a :class:`DomainExtractor` or an Inception extractor (anything with ``.id`` and ``.features``).
    """
    return _reference(dataset, size, split, extractor, root, cache_dir)["features"]


def reference_statistics(dataset: str, size: int, split: str, extractor, *, root=None, cache_dir=None) -> dict:
    """``{"mu": float64 (D,), "sigma": float64 (D, D), "n": int}`` of a real split (cached, see above)."""
    ref = _reference(dataset, size, split, extractor, root, cache_dir)
    return {"mu": ref["mu"], "sigma": ref["sigma"], "n": len(ref["features"])}


def _reference(dataset, size, split, extractor, root, cache_dir) -> dict:
    from medganbench.data import load_dataset

    ds = load_dataset(dataset, split, size=size, root=root)
    data_path = ds.card.get("path") or (dataset if str(dataset).endswith(".npz") else None)
    data_sha = _file_sha256(data_path) if data_path and os.path.isfile(data_path) else "unknown"
    path = _reference_path(dataset, size, split, extractor, cache_dir)
    if path.is_file():
        with np.load(path) as npz:
            if str(npz["data_sha256"]) == data_sha and data_sha != "unknown":
                return {k: npz[k] for k in ("features", "mu", "sigma")}
    feats = np.asarray(extractor.features(ds.images), dtype=np.float64)
    ref = {"features": feats, "mu": feats.mean(axis=0), "sigma": np.cov(feats, rowvar=False)}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, data_sha256=np.array(data_sha), **ref)
    return ref


def with_recipe(**changes) -> ClassifierRecipe:
    """``DOMAIN_RECIPE`` with some fields changed (a different recipe gives a different extractor id)."""
    return replace(DOMAIN_RECIPE, **changes)
