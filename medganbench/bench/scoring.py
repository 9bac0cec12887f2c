"""Score one set of images the way protocol 2.0 does, from arrays: domain metrics, memorization, summary.

The benchmark (:mod:`medganbench.bench.protocol`) reads the reference and held-out splits from disk and
caches their features; the sanity suite (tests/test_protocol_sanity.py) and notebook 05 need the same
evaluation with a reference they choose (e.g. the training split minus images held out as "perfect
generator" output). This function is that evaluation, with the protocol's settings as defaults.

Public API::

    score_images(images, features, *, reference_images, reference_features, heldout_images,
                 heldout_features, seed=0, bootstrap=None, draws=None) -> {"domain", "memorization", "summary"}
    known_quality_sets(train_images, train_labels, *, n=500, holdout=800, seed=0)
        -> (sets {name: uint8 (n, H, W, C)}, reference_indices int64)
    KNOWN_QUALITY_ORDER   # the order of common sense the score must reproduce
"""

from __future__ import annotations

import numpy as np

#: held-out real < mild corruption < collapse < pure noise (lower score = better).
KNOWN_QUALITY_ORDER = ("heldout_real", "mild_noise", "collapse", "pure_noise")


def known_quality_sets(train_images: np.ndarray, train_labels: np.ndarray, *, n: int = 500, holdout: int = 800,
                       seed: int = 0) -> tuple[dict, np.ndarray]:
    """Image sets of known quality built from a training split, and the reference that excludes the hold-out.

    ``holdout`` training images (stratified by class) leave the reference: they are what a perfect generator
    would produce. Sets of ``n`` images (``uint8``, shape of ``train_images``):

    * ``heldout_real``: ``n`` of the held-out images;
    * ``mild_noise``: the same + Gaussian noise of 10 grey levels; ``blur``: Gaussian blur of 1 px;
    * ``class_shift``: held-out images with 37.5 % of class 0 (PneumoniaMNIST's test mix; train has 25.8 %);
    * ``collapse``: 20 held-out images, each repeated ``n // 20`` times with +-2 grey-level jitter;
    * ``copier``: reference (training) images with +-2 grey-level jitter;
    * ``pure_noise``: uniform noise.

    Returns ``(sets, reference_indices)``: indices into ``train_images`` of the reference (sorted).
    """
    from scipy.ndimage import gaussian_filter

    images = np.asarray(train_images)
    if images.ndim == 3:
        images = images[..., None]
    y = np.asarray(train_labels).reshape(len(images), -1)[:, 0]
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    picks = []
    for c in classes:  # stratified: the hold-out keeps the split's class mix
        members = np.flatnonzero(y == c)
        picks.append(rng.choice(members, int(round(holdout * len(members) / len(y))), replace=False))
    out = np.sort(np.concatenate(picks))
    ref = np.setdiff1d(np.arange(len(y)), out)
    unseen, unseen_y = images[out], y[out]

    def jitter(x, levels=2):
        return np.clip(x.astype(int) + rng.integers(-levels, levels + 1, x.shape), 0, 255).astype(np.uint8)

    real = unseen[rng.permutation(len(unseen))[:n]]
    n_first = int(round(0.375 * n))
    first, rest = unseen[unseen_y == classes[0]], unseen[unseen_y != classes[0]]
    sets = {
        "heldout_real": real,
        "mild_noise": np.clip(np.rint(real + rng.normal(0, 10, real.shape)), 0, 255).astype(np.uint8),
        "blur": np.clip(np.rint(gaussian_filter(real.astype(float), sigma=(0, 1, 1, 0))), 0, 255).astype(np.uint8),
        "class_shift": np.concatenate([first[:n_first], rest[: n - n_first]]),
        "collapse": jitter(np.repeat(real[:20], n // 20, axis=0)),
        "copier": jitter(images[rng.choice(ref, n, replace=False)]),
        "pure_noise": rng.integers(0, 256, real.shape).astype(np.uint8),
    }
    return sets, ref


def score_images(images: np.ndarray, features: np.ndarray, *, reference_images: np.ndarray,
                 reference_features: np.ndarray, heldout_images: np.ndarray, heldout_features: np.ndarray,
                 seed: int = 0, bootstrap: int | None = None, draws: int | None = None) -> dict:
    """Protocol 2.0 evaluation of ``images`` -> ``{"domain": values, "memorization": values, "summary": block}``.

    images: ``uint8 (N, H, W, C)``; features: their domain features ``(N, D)``.
    reference_images/_features: the generator's training images (the reference and the memorization bank).
    heldout_images/_features: same-distribution real images neither the generator nor the reference saw
    (the floor and the memorization calibration).
    bootstrap, draws: override the protocol's counts (fewer = faster, wider intervals); None keeps them.
    """
    from medganbench.bench.budgets import get_budget
    from medganbench.bench.groups import FIDELITY_SETTINGS, MEMORIZATION_ALPHA
    from medganbench.bench.result import metric_group
    from medganbench.bench.summary import summarize
    from medganbench.metrics.fidelity import fidelity_from_features
    from medganbench.metrics.memorization import memorization_report

    settings = dict(FIDELITY_SETTINGS)
    if draws is not None:
        settings["draws"] = int(draws)
    boot = get_budget("quick").fid_bootstrap if bootstrap is None else int(bootstrap)
    domain = fidelity_from_features(reference_features, features, heldout_features=heldout_features, seed=seed,
                                    bootstrap=boot, **settings)
    memo = memorization_report(images, reference_images, heldout_images, alpha=MEMORIZATION_ALPHA,
                               features={"generated": features, "train": reference_features,
                                         "heldout": heldout_features})
    n = len(images)
    groups = {"domain": metric_group(domain, n_generated=n, n_reference=len(reference_features)),
              "memorization": metric_group(memo, n_generated=n, n_reference=len(reference_images))}
    return {"domain": domain, "memorization": memo, "summary": summarize(groups)}
