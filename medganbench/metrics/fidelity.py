"""Fidelity metrics from features (protocol 2.0): KID and its excess over real data, FID at a fixed N,
FID-infinity, the real-vs-real floor at matched n, precision/recall/density/coverage at equal n, IS.

TensorFlow-free and torch-free: the numbers are computed in the metrics worker
(:mod:`medganbench.metrics.worker`) by torch-fidelity's own feature-level functions, so a notebook
that trained with TensorFlow can call this safely. Taught in ``notebooks/05_evaluating_gans.ipynb``;
the statistics, with measured numbers, are in docs/metrics.md.

Public API::

    fidelity_from_features(real_features, fake_features, *, heldout_features=None, fake_logits=None,
                           kid_subset_size=None, kid_subsets=100, prc_neighborhood=3, bootstrap=100,
                           draws=20, seed=0, fid_min_samples_per_dim=10.0, fid_fixed_n=None) -> dict
    fid_min_samples(feature_dim, fid_min_samples_per_dim=10.0) -> int
    FIDELITY_KEYS   # the constant keys of the dict above

Features: ``float`` arrays ``(N, D)`` from one extractor. ``real_features`` is the reference (the
training split); ``heldout_features`` real images from the SAME distribution the generator never saw
(the validation split), the source of every floor and real-vs-real value.

Honesty rules (why the dict looks the way it does):

* KID is unbiased: its expected value does not depend on n, so it is defined (with a wider interval)
  for small sets. ``kid_floor_mean`` is held-out real KID; ``kid_floor_low/high`` the 95 % range in which
  the KID estimate of a fresh real set of the same n falls (a prediction range of an unbiased estimate,
  so it may start below 0); ``kid_excess = kid_mean - kid_floor_mean`` with a paired interval.
* FID is biased upwards with few samples and needs a well-estimated covariance: below
  ``fid_min_n = fid_min_samples_per_dim × D`` images (10 × D by default) every FID key is ``None`` and
  ``fid_reason``/``fid_floor_reason``/``fid_inf_reason`` say why.
* ``fid_at_fixed_n``: FID of ``fid_fixed_n`` generated images (mean of draws), the same N for every set
  (default ``fid_min_n``), so sets of different size compare. ``fid_inf``: Chong & Forsyth 2020, FID_N
  regressed on 1/N, extrapolated to N = infinity (needs n >= 2 × fid_min_n).
* ``fid_floor``: FID of held-out real images at ``fid_floor_n = min(n, n_heldout)``, next to
  ``fid_at_floor_n`` (generated, same n); ``fid_excess`` = their difference, paired bootstrap interval.
* Every interval is named in ``interval_method`` and clipped to its metric's range (FID, KID >= 0;
  an excess >= -floor); the point estimates themselves are never clipped (KID's unbiased estimate can
  be slightly negative).
* Precision, recall, density, coverage (k = ``prc_neighborhood``) use ``prdc_n = min(n, n_real,
  n_heldout)`` images on both sides, averaged over >= 10 draws; ``*_real`` are held-out real vs the
  reference at the same n and draws.
"""

from __future__ import annotations

import math

import numpy as np

from medganbench.errors import ConfigError

FIDELITY_KEYS = (
    "kid_mean", "kid_std", "kid_ci_low", "kid_ci_high", "kid_subset_size", "kid_subsets",
    "kid_floor_mean", "kid_floor_low", "kid_floor_high", "kid_floor_n", "kid_floor_reason",
    "kid_excess", "kid_excess_ci_low", "kid_excess_ci_high",
    "fid", "fid_ci_low", "fid_ci_high", "fid_bootstrap", "fid_reason", "fid_min_n",
    "fid_fixed_n", "fid_at_fixed_n", "fid_at_fixed_n_reason", "fid_inf", "fid_inf_reason",
    "fid_floor", "fid_floor_low", "fid_floor_high", "fid_at_floor_n", "fid_floor_n",
    "fid_excess", "fid_excess_ci_low", "fid_excess_ci_high", "fid_floor_reason",
    "precision", "recall", "density", "coverage", "f_score",
    "precision_real", "recall_real", "density_real", "coverage_real", "prdc_n", "prdc_draws", "prc_neighborhood",
    "isc_mean", "isc_std",
    "n_real", "n_fake", "n_heldout", "feature_dim", "draws", "interval_method", "seed",
)

#: torch-fidelity's default KID subset size, used whenever both sets are at least this large.
KID_SUBSET_SIZE = 1000
#: KID subsets per draw of the floor / paired-interval draws (the point estimate uses ``kid_subsets``).
DRAW_KID_SUBSETS = 5

INTERVAL_METHOD = ("95 % intervals, each recentred on its point estimate and clipped to the metric's range "
                   "(FID, KID >= 0; excess >= -floor): kid_ci/kid_excess_ci = percentiles over paired "
                   "half-sample draws (no replacement; generated and held-out halves scored against the same "
                   "reference subsets); kid_floor_low/high = 95 % prediction range of the KID "
                   "ESTIMATE of a fresh real set of n images around the estimated floor: percentiles of "
                   "(held-out subset of n*N/(n+N) images - held-out half-sample), both centred; not clipped, "
                   "because KID's unbiased estimate of real data is itself below 0 about half the time; fid_ci, fid_floor_low/high, fid_excess_ci = bias-shifted bootstrap percentiles "
                   "(fid_excess paired through a shared reference resample). An excess interval always holds "
                   "its estimate (KID's unbiased estimate can be slightly negative).")


def fid_min_samples(feature_dim: int, fid_min_samples_per_dim: float = 10.0) -> int:
    """Fewest images per set for which the kit reports FID with ``feature_dim``-dimensional features."""
    return int(math.ceil(fid_min_samples_per_dim * feature_dim))


def _as_features(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D (N, D) feature array, got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"{name} contains NaN or infinite values; check the feature extractor's input.")
    return x


def fidelity_from_features(real_features, fake_features, *, heldout_features=None, fake_logits=None,
                           kid_subset_size: int | None = None, kid_subsets: int = 100,
                           prc_neighborhood: int = 3, bootstrap: int = 100, draws: int = 20, seed: int = 0,
                           fid_min_samples_per_dim: float = 10.0, fid_fixed_n: int | None = None,
                           timeout: float | None = None) -> dict:
    """KID (+ floor, excess), FID (+ fixed N, infinity, floor, excess), PRDC at equal n, IS -> flat dict.

    real_features: ``(N_real, D)`` reference features (the training split).
    fake_features: ``(N_fake, D)`` generated-image features from the same extractor.
    heldout_features: optional ``(N_heldout, D)`` same-distribution real images not in the reference
    (the validation split) -> floors, excesses and the ``*_real`` values; without them those are ``None``.
    fake_logits: optional ``(N_fake, 1008)`` Inception logits -> ``isc_mean``/``isc_std``.
    draws: subsampling draws of the floors and intervals (precision/recall use ``max(10, draws // 3)``).
    Returns a dict with exactly :data:`FIDELITY_KEYS`; values not computed are ``None`` with a reason.
    """
    real = _as_features("real_features", real_features)
    fake = _as_features("fake_features", fake_features)
    heldout = None if heldout_features is None else _as_features("heldout_features", heldout_features)
    dim = real.shape[1]
    for name, x in (("fake_features", fake), ("heldout_features", heldout)):
        if x is not None and x.shape[1] != dim:
            raise ConfigError(f"{name} has {x.shape[1]} feature dims but real_features has {dim}; "
                              f"both must come from the same extractor.")
    n_real, n_fake = len(real), len(fake)
    n_held = None if heldout is None else len(heldout)
    smallest = min(n_real, n_fake, n_held or n_fake)
    need = max(4, prc_neighborhood + 1)
    if smallest < need:
        raise ConfigError(f"Need at least {need} images per set for KID's half-sample draws and precision/recall "
                          f"(got {n_real} real, {n_fake} generated"
                          f"{'' if n_held is None else f', {n_held} held-out'}).")
    kid_m = min(int(kid_subset_size or KID_SUBSET_SIZE), n_real, n_fake)
    if kid_m < 2:
        raise ConfigError(f"kid_subset_size={kid_subset_size} must be at least 2.")
    if int(draws) < 2:
        raise ConfigError(f"draws={draws} must be at least 2 (intervals come from the spread of draws).")

    n_min = fid_min_samples(dim, fid_min_samples_per_dim)
    fixed_n = int(fid_fixed_n) if fid_fixed_n else max(n_min, dim + 2)  # a covariance needs > D rows
    why_small = (f"with fewer than {n_min} images ({fid_min_samples_per_dim:g} x {dim} feature dims) the "
                 f"covariance estimate is unstable and FID is dominated by its bias; rank by KID")
    fid_reason = None
    if min(n_real, n_fake) < n_min:
        fid_reason = f"FID not reported: {min(n_real, n_fake)} images in the smaller set < {n_min}; {why_small}."
    fixed_reason = None
    if fid_reason is None and n_fake < fixed_n:
        fixed_reason = f"fid_at_fixed_n not reported: {n_fake} generated images < fid_fixed_n={fixed_n}."
    inf_reason = None
    if fid_reason is not None:
        inf_reason = fid_reason
    elif n_fake < 2 * max(n_min, dim + 2):
        lowest = max(n_min, dim + 2)
        inf_reason = (f"FID-infinity not reported: the 1/N regression needs N from {lowest} to at least "
                      f"{2 * lowest} generated images, got {n_fake}.")
    floor_reason = None
    compute_floor = heldout is not None
    if heldout is None:
        floor_reason = "no held-out real features given"
    else:
        n_floor = min(n_fake, n_held)
        if n_floor < n_min or n_real < n_min:
            floor_reason = (f"FID floor not reported: {n_floor} held-out/generated images < {n_min} needed; "
                            f"{why_small}.")
            compute_floor = False

    from medganbench.metrics.client import DEFAULT_TIMEOUT_S, call_worker

    result = call_worker(
        "fidelity",
        arrays={"real": real, "fake": fake, "heldout": heldout,
                "fake_logits": None if fake_logits is None else np.asarray(fake_logits, dtype=np.float64)},
        args={"compute_fid": fid_reason is None, "compute_floor": compute_floor and fid_reason is None,
              "bootstrap": int(bootstrap) if fid_reason is None else 0, "seed": int(seed), "draws": int(draws),
              "draw_kid_subsets": DRAW_KID_SUBSETS, "kid_subset_size": kid_m, "kid_subsets": int(kid_subsets),
              "prc_neighborhood": int(prc_neighborhood), "fid_min_n": n_min, "fid_fixed_n": fixed_n},
        timeout=timeout or DEFAULT_TIMEOUT_S,
    )
    out = dict.fromkeys(FIDELITY_KEYS)
    out.update({k: v for k, v in result.items() if k in out})
    out.update(
        fid_bootstrap=result.get("fid_bootstrap", 0), fid_reason=fid_reason, fid_min_n=n_min, fid_fixed_n=fixed_n,
        fid_inf_reason=inf_reason, fid_floor_reason=floor_reason, fid_at_fixed_n_reason=fixed_reason or fid_reason,
        kid_floor_reason=None if heldout is not None else "no held-out real features given",
        kid_subset_size=kid_m, kid_subsets=int(kid_subsets), prc_neighborhood=int(prc_neighborhood),
        n_real=n_real, n_fake=n_fake, n_heldout=n_held, feature_dim=int(dim), draws=int(draws),
        interval_method=INTERVAL_METHOD, seed=int(seed),
    )
    return out
