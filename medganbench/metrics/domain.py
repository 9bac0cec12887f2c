"""The domain feature extractor: the kit's own offline feature space for FID/KID/PRDC and memorization.

Inception-v3 was trained on photographs of objects and needs downloaded weights; a chest X-ray is far
from ImageNet. The domain extractor needs no download. By default it is a small residual CNN trained
self-supervised (VICReg, :mod:`medganbench.metrics.encoder`) on the official *training* split: it learns
to describe images, not only their labels. Its 32-d embedding is the feature space (the comparison
against the kit's first choice, a classifier's penultimate layer with effective dimension 1.18, is in
docs/metrics.md). The classifier recipe is still available (``recipe=ClassifierRecipe(...)``): the
translation benchmark uses it as a normal/pneumonia judge. Taught in ``notebooks/05_evaluating_gans.ipynb``.

Identity: ``id = "domain-<dataset>-<size>-<hash>"`` where the hash covers the data set (name, or the
sha256 of a custom ``.npz``), size, recipe, seed and :data:`EXTRACTOR_VERSION`. ``weights_sha256`` hashes
the weight ARRAYS (:mod:`medganbench.metrics.weightfile`), not a file that stores a save date. Training
runs in a child process with TensorFlow's op determinism on (:mod:`medganbench.metrics.train_extractor`),
so a retrain on the same kind of machine gives the same hash.

Shipped weights: the PneumoniaMNIST-28 reference extractor lives inside the package
(``medganbench/metrics/shipped/<id>/``), so every submitter is scored in the same space without
training; its arrays are checked against the recorded hash when loaded. Other data sets, sizes, recipes
or seeds are trained on first use and cached.

Cache: ``$MEDGANBENCH_CACHE`` (default ``~/.cache/medganbench``)::

    extractors/<id>/weights.npz, meta.json              trained weights (arrays) and how they were made
    reference/<id>-<sha12>/<dataset>_<size>_<split>.npz features, mu, sigma of a real split (+ data sha256)

Public API::

    DOMAIN_RECIPE                                      the default EncoderRecipe (VICReg)
    CLASSIFIER_RECIPE                                  the classifier recipe (translation judge)
    get_domain_extractor(dataset, size=28, *, recipe=None, seed=0, root=None, cache_dir=None,
                         retrain=False, progress=True) -> DomainExtractor
    DomainExtractor.id, .dim, .spec, .weights_sha256, .effective_dim, .meta, .source ("shipped" | "cache"),
                   .classifier (TrainedClassifier or None), .features(images uint8 NHWC) -> float64 (N, D)
    shipped_extractors() -> {id: folder}
    reference_features(dataset, size, split, extractor, *, root=None, cache_dir=None) -> float64 (N, D)
    reference_statistics(dataset, size, split, extractor, ...) -> {"mu": (D,), "sigma": (D, D), "n": N}
    cache_root(cache_dir=None) -> Path
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from medganbench.classifier import ClassifierRecipe
from medganbench.errors import ConfigError
from medganbench.io import atomic_path
from medganbench.metrics.encoder import EncoderRecipe
from medganbench.metrics.extractor_identity import (  # noqa: F401  (re-exported: the identity's owner)
    EXTRACTOR_VERSION,
    SHIPPED_DIR,
    extractor_id,
    shipped_extractors,
)
from medganbench.metrics.extractor_identity import dataset_key as _dataset_key
from medganbench.metrics.extractor_identity import extractor_method as _method
from medganbench.metrics.extractor_identity import file_sha256 as _file_sha256
from medganbench.settings import Settings

#: The default recipe: VICReg, 32-d embedding (about 3-7 minutes on 2 loaded CPU cores at 28 px).
DOMAIN_RECIPE = EncoderRecipe()

#: The classifier recipe (the normal/pneumonia judge of the translation benchmark).
CLASSIFIER_RECIPE = ClassifierRecipe(width=32, epochs=10, min_steps=300, batch_size=128, learning_rate=2e-3)

def cache_root(cache_dir: str | os.PathLike | None = None, settings: Settings | None = None) -> Path:
    """The kit's cache folder: ``cache_dir``, else ``settings.cache`` (``$MEDGANBENCH_CACHE`` when no settings
    are given), else ``$XDG_CACHE_HOME/medganbench`` (``~/.cache/medganbench``)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    cache = (settings or Settings.from_env()).cache
    if cache is not None:
        return cache
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "medganbench"


class DomainExtractor:
    """A trained domain model used as a feature extractor.

    ``model``: Keras model ``float32 [-1, 1] (B, H, W, C)`` -> ``(B, dim)``; ``classifier``: the
    :class:`~medganbench.classifier.TrainedClassifier` for the classifier method, else None.
    """

    kind = "domain"

    def __init__(self, model, meta: dict, *, source: str, classifier=None):
        self.model = model
        self.classifier = classifier
        self.meta = meta
        self.source = source
        self.id = meta["id"]
        self.dim = int(meta["dim"])
        self.weights_sha256 = meta["weights_sha256"]
        self.effective_dim = meta.get("effective_dim")

    @property
    def spec(self) -> dict:
        """What a result must record about this extractor (goes into the evaluation spec)."""
        layer = {"classifier": "features (global average pool of the classifier)",
                 "vicreg": f"VICReg {self.meta['recipe'].get('features', 'embedding')}"}.get(self.meta["method"])
        return {"id": self.id, "kind": self.kind, "method": self.meta["method"],
                "weights_sha256": self.weights_sha256, "weights_hash": "sha256 of the weight arrays",
                "dim": self.dim, "effective_dim": self.effective_dim,
                "effective_dim_split": self.meta.get("effective_dim_split", "train"),
                "dataset": self.meta["dataset"], "size": self.meta["size"], "seed": self.meta["seed"],
                "recipe": self.meta["recipe"], "feature_layer": layer,
                "preprocessing": "uint8 -> float32 [-1, 1], native resolution and channels",
                "version": EXTRACTOR_VERSION}

    def features(self, images: np.ndarray) -> np.ndarray:
        """images: ``uint8 (N, H, W, C)`` at the data set's size and channels -> ``float64 (N, dim)``."""
        from medganbench.metrics.train_extractor import batched_features

        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        want = tuple(self.meta["image_shape"])
        if tuple(images.shape[1:]) != want:
            raise ConfigError(f"domain extractor {self.id} takes images of shape {want} (H, W, C), got "
                              f"{tuple(images.shape[1:])}; generate at the data set's size and channels.")
        if len(images) == 0:
            raise ConfigError("no images to extract features from")
        return batched_features(self.model, images)

    def __repr__(self) -> str:
        return f"DomainExtractor({self.id!r}, dim={self.dim}, effective_dim={self.effective_dim}, {self.source})"


def _load(folder: Path, source: str) -> DomainExtractor:
    """Build the model for ``folder/meta.json`` and set the arrays of ``folder/weights.npz`` (hash checked)."""
    from medganbench.metrics.weightfile import load_weights, weights_sha256

    meta = json.loads((folder / "meta.json").read_text())
    arrays = load_weights(folder / "weights.npz")
    got = weights_sha256(arrays)
    if got != meta["weights_sha256"]:
        raise ConfigError(f"{folder / 'weights.npz'}: weight arrays hash to {got[:12]}…, meta.json records "
                          f"{meta['weights_sha256'][:12]}…; the file is damaged: delete {folder} to retrain"
                          + (" (or reinstall medganbench: these are its shipped weights)." if source == "shipped"
                             else "."))
    shape = tuple(meta["image_shape"])
    if meta["method"] == "classifier":
        from medganbench.classifier import TrainedClassifier, _keras, build_classifier

        recipe = ClassifierRecipe(**meta["recipe"])
        net = build_classifier(shape, meta["num_classes"], recipe.width)
        net.set_weights(arrays)
        clf = TrainedClassifier(net, task=meta["task"], num_classes=meta["num_classes"], recipe=recipe,
                                seed=meta["seed"], history=meta["history"], best_step=meta.get("best_step", 0),
                                flips=meta.get("flips", "none"), seconds=meta["train_seconds"])
        model = _keras().Model(net.input, net.get_layer("features").output)
        return DomainExtractor(model, meta, source=source, classifier=clf)
    from medganbench.metrics.encoder import build_encoder, feature_model

    recipe = EncoderRecipe(**meta["recipe"])
    encoder, head = build_encoder(shape, recipe)
    n_enc = len(encoder.get_weights())
    encoder.set_weights(arrays[:n_enc])
    head.set_weights(arrays[n_enc:])
    return DomainExtractor(feature_model(encoder, head, recipe), meta, source=source)


def get_domain_extractor(dataset: str, size: int = 28, *, recipe: EncoderRecipe | ClassifierRecipe | None = None,
                         seed: int = 0, root=None, cache_dir=None, retrain: bool = False,
                         progress: bool = True) -> DomainExtractor:
    """The domain extractor for (dataset, size, recipe, seed): shipped, else cached, else trained now.

    dataset: a MedMNIST flag (``"pneumoniamnist"``) or a MedMNIST-layout ``.npz`` path.
    recipe: :data:`DOMAIN_RECIPE` (VICReg) by default; a :class:`ClassifierRecipe` gives the classifier
    method. Training uses the official train split (the classifier's model selection: val; never test)
    and runs in a child process with op determinism on. ``retrain``: train again into the cache even
    when shipped or cached weights exist (then used for this call).
    """
    from medganbench.metrics.train_extractor import train_in_subprocess

    recipe = recipe or DOMAIN_RECIPE
    eid = extractor_id(dataset, size, recipe, seed)
    shipped = shipped_extractors().get(eid)
    if shipped is not None and not retrain:
        return _load(shipped, "shipped")
    folder = cache_root(cache_dir) / "extractors" / eid
    if not retrain and (folder / "meta.json").is_file() and (folder / "weights.npz").is_file():
        return _load(folder, "cache")
    if retrain:
        for name in ("meta.json", "weights.npz"):
            (folder / name).unlink(missing_ok=True)
    train_in_subprocess(dataset, size, _method(recipe), recipe.to_dict(), seed, folder, root=root,
                        progress=progress, desc=f"domain extractor {eid}")
    return _load(folder, "cache")


def _reference_path(dataset: str, size: int, split: str, extractor, cache_dir) -> Path:
    # The weights hash is in the folder name: a retrain with other weights never reads stale features.
    sha = getattr(extractor, "weights_sha256", None) or "noweights"
    return (cache_root(cache_dir) / "reference" / f"{extractor.id}-{sha[:12]}"
            / f"{_dataset_key(dataset)}_{int(size)}_{split}.npz")


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


def with_recipe(**changes) -> EncoderRecipe:
    """``DOMAIN_RECIPE`` with some fields changed (a different recipe gives a different extractor id)."""
    return replace(DOMAIN_RECIPE, **changes)
