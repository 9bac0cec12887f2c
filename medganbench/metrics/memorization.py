"""Memorization: does the generator hand back (near-)copies of training patients?

Why it matters: a generator trained on patient images that reproduces a training image leaks that
patient's data, whatever its FID. Taught in ``notebooks/05_evaluating_gans.ipynb``.

Method. For every generated image, the distance to its nearest TRAINING image is compared with the same
distance for REAL TEST images (images of other patients the generator never saw), in two spaces:

* pixel space: root-mean-square difference of the ``[0, 1]``-scaled pixels;
* domain feature space (optional): Euclidean distance between domain-extractor features.

A generated image is a *near-copy* in a space when its nearest-training distance is at most ``tau``,
the ``near_copy_quantile`` (default 1 %) quantile of the real test images' nearest-training distances.
So an honest generator that produces new images like the test ones has about 1 % near-copies per space
(at most ``2 × quantile`` in either space); a copier has 100 %. ``near_copy_fraction`` (in ``[0, 1]``)
counts images that are near-copies in either space. Exact duplicates are found by hashing the image
bytes against every real split given. ``memorized`` is True when ``near_copy_fraction >=
memorized_fraction`` (default 0.05, five times the honest rate per space) or at least that fraction
are byte-identical to training images. (MedMNIST splits themselves share a few identical images:
PneumoniaMNIST has 8 of its 524 val images in train, so "one exact hit" would be too strict;
``real_test_exact_duplicate_fraction_train`` reports the real test split's own rate as context.)

Public API::

    memorization_report(generated, train_images, test_images, *, extractor=None, features=None,
                        other_splits=None, near_copy_quantile=0.01, memorized_fraction=0.05) -> dict
    MEMORIZATION_KEYS
    nearest_neighbours(queries, bank, chunk=1024) -> (distances float64 (N,), indices int64 (N,))
    image_hashes(images) -> list[str]
    closest_pairs_figure(generated, train_images, path=None, *, n=8, space="pixel", features=None) -> Figure
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from medganbench.errors import ConfigError

MEMORIZATION_KEYS = (
    "near_copy_fraction", "near_copy_fraction_pixel", "near_copy_fraction_domain",
    "nn_ratio_pixel", "nn_ratio_domain", "tau_pixel", "tau_domain", "near_copy_quantile",
    "exact_duplicates_train", "exact_duplicates_val", "exact_duplicates_test", "exact_duplicate_fraction",
    "exact_duplicate_fraction_train", "real_test_exact_duplicate_fraction_train",
    "memorized", "memorized_reason", "memorized_fraction", "n_generated", "n_train", "n_test",
)


def _uint8_nhwc(name: str, images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ConfigError(f"{name} must be uint8 images in [0, 255], got {images.dtype}.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ConfigError(f"{name} must be (N, H, W) or (N, H, W, C), got shape {images.shape}.")
    return images


def _pixels(images: np.ndarray) -> np.ndarray:
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return x


def nearest_neighbours(queries: np.ndarray, bank: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean nearest neighbour in ``bank`` of each row of ``queries`` -> (distances, indices).

    queries: ``(N, D)``, bank: ``(M, D)`` float arrays. Chunked so 10k × 5k × 784 fits in memory.
    """
    q = np.asarray(queries, dtype=np.float32)
    b = np.asarray(bank, dtype=np.float32)
    if q.shape[1] != b.shape[1]:
        raise ConfigError(f"queries have {q.shape[1]} dims but the bank has {b.shape[1]}.")
    b_sq = np.einsum("ij,ij->i", b, b)
    dists = np.empty(len(q), dtype=np.float64)
    idx = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        qc = q[start:start + chunk]
        d2 = np.einsum("ij,ij->i", qc, qc)[:, None] + b_sq[None, :] - 2.0 * (qc @ b.T)
        j = np.argmin(d2, axis=1)
        # Recompute the winner exactly: the expanded form loses precision for (near-)identical rows.
        exact = np.sqrt(np.sum((qc.astype(np.float64) - b[j].astype(np.float64)) ** 2, axis=1))
        dists[start:start + len(qc)] = exact
        idx[start:start + len(qc)] = j
    return dists, idx


def image_hashes(images: np.ndarray) -> list[str]:
    """sha1 of each image's bytes (``uint8 (N, H, W, C)``; grey ``(N, H, W)`` hashes the same as ``C=1``)."""
    images = np.ascontiguousarray(_uint8_nhwc("images", images))
    return [hashlib.sha1(img.tobytes()).hexdigest() for img in images]


def memorization_report(generated, train_images, test_images, *, extractor=None, features: dict | None = None,
                        other_splits: dict | None = None, near_copy_quantile: float = 0.01,
                        memorized_fraction: float = 0.05) -> dict:
    """Near-copy and exact-duplicate check of ``generated`` against the training split -> flat dict.

    generated, train_images, test_images: ``uint8 (N, H, W, C)`` of the same H, W, C.
    extractor: optional domain (or Inception) extractor with ``.features(images) -> (N, D)``; or give
    ``features={"generated": ..., "train": ..., "test": ...}`` precomputed. Without either, the
    domain-space keys are ``None``.
    other_splits: e.g. ``{"val": val_images}``: more real splits for the exact-duplicate check (train
    and test are always checked).
    Returns a dict with exactly :data:`MEMORIZATION_KEYS`.
    """
    gen = _uint8_nhwc("generated", generated)
    train = _uint8_nhwc("train_images", train_images)
    test = _uint8_nhwc("test_images", test_images)
    for name, x in (("train_images", train), ("test_images", test)):
        if x.shape[1:] != gen.shape[1:]:
            raise ConfigError(f"generated images are {gen.shape[1:]} but {name} are {x.shape[1:]}; "
                              f"generate at the data set's size and channels.")
    if not 0.0 < near_copy_quantile < 1.0:
        raise ConfigError(f"near_copy_quantile={near_copy_quantile} must be in (0, 1).")
    out = dict.fromkeys(MEMORIZATION_KEYS)
    out.update(near_copy_quantile=float(near_copy_quantile), memorized_fraction=float(memorized_fraction),
               n_generated=len(gen), n_train=len(train), n_test=len(test))

    flags = []
    spaces = {"pixel": (_pixels(gen), _pixels(train), _pixels(test))}
    if features is None and extractor is not None:
        features = {"generated": extractor.features(gen), "train": extractor.features(train),
                    "test": extractor.features(test)}
    if features is not None:
        spaces["domain"] = (features["generated"], features["train"], features["test"])
    for space, (g, tr, te) in spaces.items():
        g_d, _ = nearest_neighbours(g, tr)
        t_d, _ = nearest_neighbours(te, tr)
        if space == "pixel":  # RMS pixel difference reads better than a raw Euclidean norm
            g_d, t_d = g_d / np.sqrt(g.shape[1]), t_d / np.sqrt(g.shape[1])
        tau = float(np.quantile(t_d, near_copy_quantile))
        near = g_d <= tau
        flags.append(near)
        out[f"near_copy_fraction_{space}"] = float(np.mean(near))
        out[f"tau_{space}"] = tau
        median_test = float(np.median(t_d))
        out[f"nn_ratio_{space}"] = float(np.median(g_d) / median_test) if median_test > 0 else None
    out["near_copy_fraction"] = float(np.mean(np.logical_or.reduce(flags)))

    gen_hashes = image_hashes(gen)
    splits = {"train": train, "test": test, **(other_splits or {})}
    any_dup = np.zeros(len(gen), dtype=bool)
    for name, imgs in splits.items():
        known = set(image_hashes(imgs))
        hit = np.array([h in known for h in gen_hashes], dtype=bool)
        any_dup |= hit
        if f"exact_duplicates_{name}" in out:
            out[f"exact_duplicates_{name}"] = int(hit.sum())
    out["exact_duplicate_fraction"] = float(np.mean(any_dup))
    out["exact_duplicate_fraction_train"] = out["exact_duplicates_train"] / len(gen)
    # Context: MedMNIST splits share some byte-identical images (PneumoniaMNIST: 8 of 524 val images are
    # in train), so a few exact hits are not proof of copying; the real test split's rate is the baseline.
    train_hashes = set(image_hashes(train))
    out["real_test_exact_duplicate_fraction_train"] = float(np.mean([h in train_hashes for h in image_hashes(test)]))

    reasons = []
    if out["near_copy_fraction"] >= memorized_fraction:
        reasons.append(f"{out['near_copy_fraction']:.1%} of generated images are near-copies of training images "
                       f"(threshold {memorized_fraction:.0%}; honest generators give about "
                       f"{near_copy_quantile:.0%} per space)")
    if out["exact_duplicate_fraction_train"] >= memorized_fraction:
        reasons.append(f"{out['exact_duplicates_train']} generated images ({out['exact_duplicate_fraction_train']:.1%}) "
                       f"are exact copies of training images")
    out["memorized"] = bool(reasons)
    out["memorized_reason"] = "; ".join(reasons) if reasons else None
    return out


def closest_pairs_figure(generated, train_images, path: str | Path | None = None, *, n: int = 8,
                         space: str = "pixel", features: dict | None = None, title: str | None = None):
    """Picture of the ``n`` generated images closest to a training image, each above its neighbour.

    space: ``"pixel"`` (RMS difference) or ``"domain"`` (needs ``features={"generated":..., "train":...}``).
    Writes a PNG to ``path`` when given (atomically) and returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    gen = _uint8_nhwc("generated", generated)
    train = _uint8_nhwc("train_images", train_images)
    if space == "pixel":
        d, j = nearest_neighbours(_pixels(gen), _pixels(train))
        d = d / np.sqrt(np.prod(gen.shape[1:]))
        unit = "RMS"
    elif space == "domain":
        if features is None:
            raise ConfigError("space='domain' needs features={'generated': ..., 'train': ...}.")
        d, j = nearest_neighbours(features["generated"], features["train"])
        unit = "dist"
    else:
        raise ConfigError(f"space={space!r}; choose 'pixel' or 'domain'.")
    order = np.argsort(d)[: min(n, len(gen))]
    cols = len(order)
    fig, axes = plt.subplots(2, cols, figsize=(1.5 * cols, 3.4), squeeze=False)
    grey = gen.shape[-1] == 1
    for c, i in enumerate(order):
        for r, img in enumerate((gen[i], train[j[i]])):
            ax = axes[r, c]
            ax.imshow(img[..., 0] if grey else img, cmap="gray" if grey else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, c].set_title(f"{unit} {d[i]:.3f}", fontsize=8)
    axes[0, 0].set_ylabel("generated", fontsize=8)
    axes[1, 0].set_ylabel("nearest train", fontsize=8)
    fig.suptitle(title or f"Closest generated/training pairs ({space} space)", fontsize=9)
    fig.tight_layout()
    if path is not None:
        from medganbench.io import save_figure

        save_figure(fig, path, dpi=120)
    return fig
