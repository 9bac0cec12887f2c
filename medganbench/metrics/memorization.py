"""Memorization: does the generator hand back (near-)copies of training patients? (protocol 2.0)

Why it matters: a generator trained on patient images that reproduces a training image leaks that
patient's data, whatever its score. Taught in ``notebooks/05_evaluating_gans.ipynb``; the measured
numbers behind the defaults are in docs/metrics.md.

Method.

1. Distances. For every image, the distance to its nearest TRAINING image in

   * contrast-normalised pixel space: each image minus its mean, divided by its standard deviation
     (at least :data:`MIN_PIXEL_STD`), RMS difference; ``d = sqrt(2 (1 - r))`` with ``r`` the Pearson
     correlation of the two images. Two smooth or flat images are no longer close just because both
     have little contrast (raw pixel RMS made any two low-contrast images neighbours);
   * domain feature space (when features are given): Euclidean distance of extractor features.

2. Calibration. ``tau`` per space is the ``near_copy_quantile`` (default 1 %) quantile of the same
   distances for HELD-OUT real images of the same distribution (the validation split: other patients
   the generator never saw). Held-out images byte-identical to a training image (PneumoniaMNIST's val
   split holds 8 of them) are left out of the quantile, which would otherwise be 0.

3. Near copy: below ``tau`` in EVERY space given (a copy, exact or jittered by a few grey levels, is
   close in pixels and in features; a blurred or smooth image is not close in both). The calibrated
   rate ``p0`` is the fraction of held-out real images that are near copies under the same rule (with
   their byte-identical ones), and ``p0_upper`` its one-sided 95 % Clopper-Pearson upper bound (so the
   estimate's own noise cannot make an honest set look guilty).

4. Verdict. ``memorized`` is True when a one-sided binomial test of ``k`` near copies among ``n``
   generated images against ``p0_upper`` gives ``p_value < alpha`` (default 0.001). So an honest
   generator (rate about ``p0``) is not flagged, and a copier (rate about 1) always is.

Exact duplicates are also found by hashing the image bytes against every real split given, reported
as context (``exact_duplicate_fraction_train``; the held-out split's own rate beside it).

Public API::

    memorization_report(generated, train_images, heldout_images, *, extractor=None, features=None,
                        other_splits=None, near_copy_quantile=0.01, alpha=0.001, neighbours=None) -> dict
    MEMORIZATION_KEYS
    normalised_pixels(images) -> float32 (N, H*W*C)
    nearest_neighbours(queries, bank, chunk=1024) -> (distances float64 (N,), indices int64 (N,))
    pixel_neighbours(generated, train_images) -> (distances, indices) in normalised pixels
    image_hashes(images) -> list[str]
    closest_pairs_figure(generated, train_images, path=None, *, n=8, space="pixel", features=None) -> Figure
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from medganbench.errors import ConfigError
from medganbench.imageconv import require_uint8_nhwc, to_unit

MEMORIZATION_KEYS = (
    "near_copy_fraction", "near_copies", "near_copy_fraction_pixel", "near_copy_fraction_domain",
    "calibrated_rate", "calibrated_rate_upper", "p_value", "alpha", "spaces",
    "nn_ratio_pixel", "nn_ratio_domain", "tau_pixel", "tau_domain", "near_copy_quantile",
    "exact_duplicates_train", "exact_duplicates_val", "exact_duplicates_test", "exact_duplicate_fraction",
    "exact_duplicate_fraction_train", "heldout_exact_duplicate_fraction_train",
    "memorized", "memorized_reason", "n_generated", "n_train", "n_heldout",
)

#: Floor of an image's pixel standard deviation (pixels in [0, 1]) before normalising: a flat image
#: (std below about 1 grey level) is compared by its shape only up to this noise level.
MIN_PIXEL_STD = 4.0 / 255.0


def normalised_pixels(images) -> np.ndarray:
    """Contrast-normalised pixels ``(N, P)`` float32: each image minus its mean over its own standard deviation
    (floored at :data:`MIN_PIXEL_STD`), divided by ``sqrt(P)`` so the Euclidean distance of two rows is the
    RMS difference of the normalised images (``sqrt(2 (1 - r))``, in ``[0, 2]``, for images above the floor).
    images: ``uint8 (N, H, W[, C])``."""
    x = to_unit(require_uint8_nhwc(images, "images").reshape(len(images), -1), np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    std = np.maximum(x.std(axis=1, keepdims=True), MIN_PIXEL_STD)
    return x / std / np.sqrt(x.shape[1])


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


def pixel_neighbours(generated, train_images) -> tuple[np.ndarray, np.ndarray]:
    """Nearest training image of each generated image in contrast-normalised pixels -> (distances, indices),
    as :func:`memorization_report` and :func:`closest_pairs_figure` compute them (``uint8 (N, H, W[, C])``)."""
    return nearest_neighbours(normalised_pixels(generated), normalised_pixels(train_images))


def image_hashes(images: np.ndarray) -> list[str]:
    """sha1 of each image's bytes (``uint8 (N, H, W, C)``; grey ``(N, H, W)`` hashes the same as ``C=1``)."""
    images = np.ascontiguousarray(require_uint8_nhwc(images, "images"))
    return [hashlib.sha1(img.tobytes()).hexdigest() for img in images]


def _binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided p-value of k successes."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p)) if k > 0 else 1.0


def _clopper_pearson_upper(k: int, n: int, level: float = 0.95) -> float:
    """One-sided upper confidence bound of a binomial rate (``level``, exact)."""
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(level, k + 1, n - k))


def memorization_report(generated, train_images, heldout_images, *, extractor=None, features: dict | None = None,
                        other_splits: dict | None = None, near_copy_quantile: float = 0.01,
                        alpha: float = 0.001, neighbours: dict | None = None) -> dict:
    """Calibrated near-copy test of ``generated`` against the training split -> flat dict.

    generated, train_images, heldout_images: ``uint8 (N, H, W, C)`` of the same H, W, C; ``heldout_images``
    are same-distribution real images the generator never saw (the validation split), used to calibrate.
    extractor: optional extractor with ``.features(images) -> (N, D)``; or give
    ``features={"generated": ..., "train": ..., "heldout": ...}`` precomputed. Without either, the test
    uses normalised pixels alone and the domain keys are ``None``.
    other_splits: e.g. ``{"test": test_images}``: more real splits for the exact-duplicate count.
    neighbours: optional ``{"pixel": (distances, indices)}`` already computed for ``generated`` against
    ``train_images`` by :func:`pixel_neighbours` (the benchmark shares them with
    :func:`closest_pairs_figure` instead of searching 10,000 x 4,708 images twice).
    Returns a dict with exactly :data:`MEMORIZATION_KEYS` (fractions in ``[0, 1]``).
    """
    gen = require_uint8_nhwc(generated, "generated")
    train = require_uint8_nhwc(train_images, "train_images")
    held = require_uint8_nhwc(heldout_images, "heldout_images")
    for name, x in (("train_images", train), ("heldout_images", held)):
        if x.shape[1:] != gen.shape[1:]:
            raise ConfigError(f"generated images are {gen.shape[1:]} but {name} are {x.shape[1:]}; "
                              f"generate at the data set's size and channels.")
    if not 0.0 < near_copy_quantile < 1.0:
        raise ConfigError(f"near_copy_quantile={near_copy_quantile} must be in (0, 1).")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha={alpha} must be in (0, 1).")
    out = dict.fromkeys(MEMORIZATION_KEYS)
    out.update(near_copy_quantile=float(near_copy_quantile), alpha=float(alpha), n_generated=len(gen),
               n_train=len(train), n_heldout=len(held))

    train_hashes = set(image_hashes(train))
    held_dup = np.array([h in train_hashes for h in image_hashes(held)], dtype=bool)
    if held_dup.all():
        raise ConfigError("every held-out image is byte-identical to a training image; calibration needs "
                          "held-out images the generator never saw.")

    spaces = {"pixel": (normalised_pixels(gen), normalised_pixels(train), normalised_pixels(held))}
    if features is None and extractor is not None:
        features = {"generated": extractor.features(gen), "train": extractor.features(train),
                    "heldout": extractor.features(held)}
    if features is not None:
        spaces["domain"] = (features["generated"], features["train"],
                            features["heldout"] if "heldout" in features else features["test"])
    gen_flags, held_flags = [], []
    for space, (g, tr, he) in spaces.items():
        g_d = (neighbours or {}).get(space, (None,))[0]
        if g_d is None:
            g_d, _ = nearest_neighbours(g, tr)
        elif len(g_d) != len(g):
            raise ConfigError(f"neighbours[{space!r}] holds {len(g_d)} distances for {len(g)} generated images.")
        h_d, _ = nearest_neighbours(he, tr)
        # Byte-identical held-out images would put tau at 0 (and let jittered copies through).
        tau = float(np.quantile(h_d[~held_dup], near_copy_quantile))
        gen_flags.append(g_d <= tau)
        held_flags.append(h_d <= tau)
        out[f"near_copy_fraction_{space}"] = float(np.mean(g_d <= tau))
        out[f"tau_{space}"] = tau
        median_held = float(np.median(h_d[~held_dup]))
        out[f"nn_ratio_{space}"] = float(np.median(g_d) / median_held) if median_held > 0 else None
    near = np.logical_and.reduce(gen_flags)
    held_near = np.logical_and.reduce(held_flags) | held_dup
    k, n = int(near.sum()), len(gen)
    p0 = float(held_near.mean())
    p0_upper = _clopper_pearson_upper(int(held_near.sum()), len(held))
    p_value = _binomial_sf(k, n, p0_upper)
    out.update(near_copy_fraction=k / n, near_copies=k, calibrated_rate=p0, calibrated_rate_upper=p0_upper,
               p_value=p_value, spaces=" and ".join(spaces))

    gen_hashes = image_hashes(gen)
    splits = {"train": train, "heldout": held, **(other_splits or {})}
    any_dup = np.zeros(len(gen), dtype=bool)
    for name, imgs in splits.items():
        known = train_hashes if name == "train" else set(image_hashes(imgs))
        hit = np.array([h in known for h in gen_hashes], dtype=bool)
        any_dup |= hit
        if f"exact_duplicates_{name}" in out:
            out[f"exact_duplicates_{name}"] = int(hit.sum())
    out["exact_duplicate_fraction"] = float(np.mean(any_dup))
    out["exact_duplicate_fraction_train"] = out["exact_duplicates_train"] / len(gen)
    out["heldout_exact_duplicate_fraction_train"] = float(held_dup.mean())

    out["memorized"] = bool(p_value < alpha)
    out["memorized_reason"] = (
        f"{k} of {n} generated images ({k / n:.1%}) are near copies of training images ({out['spaces']} "
        f"distance below the {near_copy_quantile:.0%} quantile of held-out real images); held-out real images "
        f"are near copies at {p0:.1%} (upper bound {p0_upper:.1%}); one-sided binomial test p = {p_value:.2g} "
        f"< alpha = {alpha:g}") if out["memorized"] else None
    return out


def closest_pairs_figure(generated, train_images, path: str | Path | None = None, *, n: int = 8,
                         space: str = "pixel", features: dict | None = None, title: str | None = None,
                         neighbours: tuple | None = None):
    """Picture of the ``n`` generated images closest to a training image, each above its neighbour.

    space: ``"pixel"`` (contrast-normalised RMS difference, as the memorization test) or ``"domain"``
    (needs ``features={"generated":..., "train":...}``). neighbours: optional ``(distances, indices)`` already
    computed in that space (:func:`pixel_neighbours`), so the search is not run twice.
    Writes a PNG to ``path`` when given (atomically) and returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    gen = require_uint8_nhwc(generated, "generated")
    train = require_uint8_nhwc(train_images, "train_images")
    if neighbours is not None:
        d, j = (np.asarray(a) for a in neighbours)
        if len(d) != len(gen):
            raise ConfigError(f"neighbours hold {len(d)} distances for {len(gen)} generated images.")
        unit = "nRMS" if space == "pixel" else "dist"
    elif space == "pixel":
        d, j = pixel_neighbours(gen, train)
        unit = "nRMS"
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
