"""Augmentation gain and TSTR: does a generator trained on the few labelled images we have help a classifier?

The question a user asks is "I have 5 % of the labels; does a GAN trained on them help?". So, for each
low-data regime (a seeded, stratified fraction of the official training split) and each seed:

1. the regime's labelled subset is drawn (:func:`medganbench.data.subsets.subset_indices`);
2. the caller's ``synthesize(images, labels, wanted_labels, seed)`` makes ``ratio × n_subset`` synthetic
   images with the subset's class balance, seeing ONLY that subset (the benchmark trains its generator on
   it, :mod:`medganbench.bench.protocol`); a copier can therefore only copy the subset, and gains nothing
   it did not earn;
3. the fixed classifier recipe (:mod:`medganbench.classifier`, run under :func:`deterministic_ops`) is
   trained on three arms:

   * ``real``      (a) the real subset;
   * ``mixed``     (b) the real subset + the synthetic images;
   * ``synthetic`` (c) the synthetic images alone (train on synthetic, test on real: TSTR).

A ``ceiling`` arm trains the classifier on 100 % of the real training split: what all the labels would
give. Model selection uses the official validation split; the official TEST split is
touched only for the final numbers. Reported per regime: mean ± std over seeds of ACC, AUC (macro
one-vs-rest for multi-class) and balanced accuracy, and the gain (b − a), paired by seed (same subset,
same classifier seed), with a 95 % t-interval and a two-sided paired t-test p-value; plus the
majority-class floor of the test split and the distance of the ceiling to the published MedMNIST v2
ResNet-18 baseline where the kit knows it. Taught in ``notebooks/04_conditional_gan_and_augmentation``.

A fixed pool of synthetic images (``synthetic_images``, ``synthetic_labels``) is still accepted (the
notebook shows it), but then the generator has seen more labelled data than the regime allows:
``generator_scope`` says ``"pool"`` and the benchmark never uses it.

Public API::

    AUGMENTATION_REGIMES = (0.01, 0.05, 0.10, 1.0); ARMS = ("real", "mixed", "synthetic")
    augmentation_gain(dataset, synthetic_images=None, synthetic_labels=None, *, synthesize=None, size=28,
                      regimes=AUGMENTATION_REGIMES, seeds=(0, 1, 2), ratio=1.0, recipe=None, arms=ARMS,
                      ceiling_seeds=(), root=None, progress=True, return_runs=False)
        -> dict  (or (dict, runs) with return_runs=True)
    augmentation_keys(regimes) -> tuple of the dict's keys (constant for given regimes)
    paired_gain(differences) -> {"mean", "std", "ci_low", "ci_high", "p_value", "n"}
    synthetic_needed(dataset, *, size=28, regimes=..., ratio=1.0, root=None) -> {class: images needed}
    wanted_labels(subset_labels, ratio) -> int64 (n,) class ids the synthetic set must have
    regime_name(fraction) -> "p1", "p5", "p10", "p100", "p0_5", ...
"""

from __future__ import annotations

import math

import numpy as np

from medganbench.errors import ConfigError

AUGMENTATION_REGIMES = (0.01, 0.05, 0.10, 1.0)
ARMS = ("real", "mixed", "synthetic")
METRICS = ("acc", "auc", "balanced_acc")

#: Published test figures of MedMNIST v2's ResNet-18 (28) (Yang et al., Scientific Data 2023, Table).
REFERENCE_BASELINES = {
    ("pneumoniamnist", 28): {"auc": 0.944, "acc": 0.854, "source": "MedMNIST v2 ResNet-18 (28)"},
}

#: Significance level of the paired test and the coverage of its interval (1 - ALPHA).
ALPHA = 0.05

_GLOBAL_KEYS = ("dataset", "size", "ratio", "n_seeds", "n_test", "majority_floor_acc", "generator_scope",
                "alpha", "classifier_runs", "classifier_seconds", *(f"ceiling_{m}_{s}" for m in METRICS for s in ("mean", "std")),
                "baseline_source", "baseline_reference_auc", "baseline_reference_acc",
                "baseline_auc", "baseline_acc", "baseline_auc_distance", "baseline_acc_distance", "baseline_reason")


def regime_name(fraction: float) -> str:
    """``0.01 -> "p1"``, ``1.0 -> "p100"``, ``0.005 -> "p0_5"`` (the key prefix of a regime)."""
    pct = round(float(fraction) * 100, 6)
    return "p" + (f"{pct:g}".replace(".", "_"))


def augmentation_keys(regimes=AUGMENTATION_REGIMES) -> tuple[str, ...]:
    """Every key :func:`augmentation_gain` returns for these regimes (arms not run are ``None``)."""
    keys = list(_GLOBAL_KEYS)
    for r in regimes:
        p = regime_name(r)
        keys += [f"{p}_n_real", f"{p}_n_synthetic"]
        for arm in (*ARMS, "gain"):
            for m in METRICS:
                keys += [f"{p}_{arm}_{m}_mean", f"{p}_{arm}_{m}_std"]
        for m in METRICS:
            keys += [f"{p}_gain_{m}_ci_low", f"{p}_gain_{m}_ci_high", f"{p}_gain_{m}_p_value"]
    return tuple(keys)


def paired_gain(differences) -> dict:
    """Paired differences (one per seed: mixed − real on the same subset) -> mean, std, 95 % CI, p-value.

    The interval is Student's t (``mean ± t_{n-1, 0.975} · std / sqrt(n)``) and the p-value is the
    two-sided one-sample t-test of mean 0. With one difference, or all differences equal, the spread is
    unknown or zero: the interval is the point and the p-value None (undefined), never a made-up number.
    """
    from scipy import stats

    d = np.asarray([x for x in differences if x is not None], dtype=np.float64)
    n = len(d)
    if n == 0:
        return {"mean": None, "std": None, "ci_low": None, "ci_high": None, "p_value": None, "n": 0}
    mean = float(d.mean())
    std = float(d.std(ddof=1)) if n > 1 else 0.0
    if n < 2 or std == 0.0:
        return {"mean": mean, "std": std, "ci_low": mean, "ci_high": mean, "p_value": None, "n": n}
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * std / np.sqrt(n)
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "p_value": p, "n": n}


def _subset_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    try:  # the shared implementation (nested subsets across fractions for one seed)
        from medganbench.data.subsets import subset_indices
    except ImportError:  # pragma: no cover - before the data helper's module is merged
        subset_indices = _fallback_subset_indices
    return subset_indices(labels, fraction=fraction, seed=seed)


def _fallback_subset_indices(labels, fraction=None, per_class=None, seed=0):
    strata = np.asarray(labels).reshape(len(labels), -1)[:, 0]
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == cls))
        k = max(1, int(math.floor(float(fraction) * len(members) + 0.5)))
        chosen.append(members[:k])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _class_ids(labels) -> np.ndarray:
    return np.asarray(labels).reshape(len(labels), -1)[:, 0].astype(np.int64)


def synthetic_needed(dataset: str, *, size: int = 28, regimes=AUGMENTATION_REGIMES, ratio: float = 1.0,
                     root=None) -> dict[int, int]:
    """Synthetic images needed per class so every regime can draw ``ratio × subset`` without replacement."""
    from medganbench.data import load_dataset

    train = load_dataset(dataset, "train", size=size, root=root)
    y = _class_ids(train.labels)
    need: dict[int, int] = {}
    for r in regimes:
        idx = _subset_indices(train.labels, r, 0)
        for cls, count in zip(*np.unique(y[idx], return_counts=True)):
            need[int(cls)] = max(need.get(int(cls), 0), int(math.ceil(ratio * count)))
    return need


def wanted_labels(subset_labels, ratio: float) -> np.ndarray:
    """Class ids ``int64 (n,)`` of the synthetic set for a subset: ``ceil(ratio × count)`` of every class."""
    y = _class_ids(subset_labels)
    classes, counts = np.unique(y, return_counts=True)
    return np.repeat(classes, [int(math.ceil(ratio * c)) for c in counts]).astype(np.int64)


def _draw_synthetic(syn_y: np.ndarray, real_y: np.ndarray, ratio: float, rng) -> np.ndarray:
    picks = []
    for cls, count in zip(*np.unique(real_y, return_counts=True)):
        want = int(math.ceil(ratio * count))
        pool = np.flatnonzero(syn_y == cls)
        if len(pool) < want:
            raise ConfigError(f"the synthetic pool has {len(pool)} images of class {cls} but this regime needs "
                              f"{want} (ratio {ratio} x {count} real); generate more (see synthetic_needed()).")
        picks.append(rng.choice(pool, want, replace=False))
    return np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)


def augmentation_gain(dataset: str, synthetic_images=None, synthetic_labels=None, *, synthesize=None,
                      size: int = 28, regimes=AUGMENTATION_REGIMES, seeds=(0, 1, 2), ratio: float = 1.0, recipe=None,
                      arms=ARMS, ceiling_seeds=(), root=None, progress: bool = True, return_runs: bool = False,
                      select=None):
    """Run the augmentation-gain / TSTR experiment -> flat dict with :func:`augmentation_keys` keys.

    synthesize: ``synthesize(images, labels, wanted, seed) -> uint8 (len(wanted), H, W, C)``, called once per
    regime and seed with ONLY that regime's subset (``uint8 (n, H, W, C)``, labels ``int64 (n,)``) and the class
    ids ``wanted`` (``int64 (m,)``, :func:`wanted_labels`) the synthetic images must have, in that order.
    Or, instead, a fixed pool: synthetic_images ``uint8 (N, H, W, C)`` and synthetic_labels ``(N,)``/``(N, 1)``
    (the generator then saw more than the subset; ``generator_scope`` = ``"pool"``).
    ``seeds``: at least 3 (the spread is part of the result). ``ceiling_seeds``: also train the classifier
    on 100 % of the real training split with these seeds (the ceiling; when the regimes include 1.0, its real
    arm is the ceiling instead). ``return_runs=True`` also returns the per-run records (regime, seed, arm, metrics,
    steps, seconds). ``select``: run only these parts of the study, ``(regime, seed)`` pairs and
    ``("ceiling", seed)``, and return their run records (a list) instead of a summary; parts run in separate
    processes combine with :func:`summarize_runs` into exactly the study one call would give.
    """
    from medganbench.classifier import ClassifierRecipe, evaluate, train_classifier
    from medganbench.data import load_dataset
    from medganbench.determinism import deterministic_ops

    seeds = [int(s) for s in seeds]
    if len(seeds) < 3 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={seeds}: give at least 3 distinct seeds; a gain without its spread is not a result.")
    unknown = set(arms) - set(ARMS)
    if unknown or not arms:
        raise ConfigError(f"arms={list(arms)}; choose from {ARMS}.")
    if ratio <= 0:
        raise ConfigError(f"ratio={ratio} must be positive (synthetic images per real image).")
    for r in regimes:
        if not 0 < float(r) <= 1:
            raise ConfigError(f"regime {r} must be a fraction in (0, 1], e.g. 0.01 for 1 %.")
    if (synthesize is None) == (synthetic_images is None):
        raise ConfigError("give either synthesize= (a generator trained on each subset) or a synthetic pool "
                          "(synthetic_images, synthetic_labels), not both or neither.")
    recipe = recipe or ClassifierRecipe()
    train = load_dataset(dataset, "train", size=size, root=root)
    val = load_dataset(dataset, "val", size=size, root=root)
    test = load_dataset(dataset, "test", size=size, root=root)
    task = train.card.get("task", "multi-class")
    if task == "multi-label":
        raise ConfigError(f"{dataset} is multi-label; the augmentation benchmark needs single-label classes.")
    num_classes = train.num_classes
    pool = None
    if synthetic_images is not None:
        pool = _check_synthetic(synthetic_images, synthetic_labels, train, num_classes, dataset, size)
    train_y = _class_ids(train.labels)
    flip_dataset = dataset if not str(dataset).endswith(".npz") else None
    needs_synthetic = "mixed" in arms or "synthetic" in arms

    def fit(x, y, seed):
        with deterministic_ops():  # the same seed gives the same classifier, so gains are paired exactly
            clf = train_classifier(x, y, val.images, val.labels, recipe, seed, task=task, num_classes=num_classes,
                                   dataset=flip_dataset, progress=False)
        return clf, evaluate(clf, test.images, test.labels)

    runs = []
    ceiling_seeds = [] if 1.0 in map(float, regimes) else [int(s) for s in ceiling_seeds]
    total = len(regimes) * len(seeds) * len(arms) + len(ceiling_seeds)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="augmentation gain", unit="run", disable=not progress)
    wanted = None if select is None else {(str(a) if a == "ceiling" else float(a), int(b)) for a, b in select}
    for r in regimes:
        for seed in seeds:
            if wanted is not None and (float(r), seed) not in wanted:
                continue
            idx = _subset_indices(train.labels, float(r), seed)
            rx, ry = train.images[idx], train_y[idx]
            syn_x = syn_y = None
            if needs_synthetic:
                if pool is not None:
                    sidx = _draw_synthetic(pool[1], ry, ratio, np.random.default_rng(10_000 + seed))
                    syn_x, syn_y = pool[0][sidx], pool[1][sidx]
                else:
                    syn_y = wanted_labels(ry, ratio)
                    syn_x = _check_synthetic(synthesize(rx, ry, syn_y, seed), syn_y, train, num_classes, dataset,
                                             size, what="synthesize()")[0]
            for arm in arms:
                if arm == "real":
                    x, y = rx, ry
                elif arm == "mixed":
                    x, y = np.concatenate([rx, syn_x]), np.concatenate([ry, syn_y])
                else:
                    x, y = syn_x, syn_y
                clf, res = fit(x, y, seed)
                runs.append({"regime": float(r), "seed": seed, "arm": arm, "n_real": len(rx),
                             "n_synthetic": 0 if arm == "real" else len(syn_y), "n_train": len(x),
                             "best_step": clf.best_step, "seconds": round(clf.seconds, 2), **res})
                bar.update(1)
                bar.set_postfix(regime=regime_name(r), arm=arm, auc=f"{res['auc'] or float('nan'):.3f}")
    for seed in ceiling_seeds:
        if wanted is not None and ("ceiling", seed) not in wanted:
            continue
        clf, res = fit(train.images, train_y, seed)
        runs.append({"regime": 1.0, "seed": seed, "arm": "ceiling", "n_real": len(train_y), "n_synthetic": 0,
                     "n_train": len(train_y), "best_step": clf.best_step, "seconds": round(clf.seconds, 2), **res})
        bar.update(1)
    bar.close()
    if select is not None:
        return runs
    summary = summarize_runs(runs, regimes=regimes, dataset=dataset, size=size, ratio=ratio, test_labels=test.labels)
    summary["generator_scope"] = "pool" if pool is not None else "subset"
    return (summary, runs) if return_runs else summary


def _check_synthetic(images, labels, train, num_classes, dataset, size, what="synthetic images"):
    """-> (uint8 (N, H, W, C), int64 (N,)) or ConfigError naming what is wrong."""
    syn_x = np.asarray(images)
    if syn_x.ndim == 3:
        syn_x = syn_x[..., None]
    if syn_x.dtype != np.uint8:
        raise ConfigError(f"{what}: images must be uint8, got {syn_x.dtype}; see medganbench.data.pipeline.to_uint8.")
    if syn_x.shape[1:] != train.images.shape[1:]:
        raise ConfigError(f"{what}: images are {syn_x.shape[1:]} but {dataset} at {size} px is "
                          f"{train.images.shape[1:]}.")
    syn_y = _class_ids(labels)
    if len(syn_y) != len(syn_x):
        raise ConfigError(f"{what}: {len(syn_x)} synthetic images but {len(syn_y)} labels.")
    if syn_y.min(initial=0) < 0 or syn_y.max(initial=0) >= num_classes:
        raise ConfigError(f"{what}: labels must be class ids in [0, {num_classes - 1}].")
    return syn_x, syn_y


def _mean_std(values) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def summarize_runs(runs: list[dict], *, regimes, dataset: str, size: int, ratio: float, test_labels) -> dict:
    """Per-run records -> the flat summary dict (means, sample std over seeds, per-seed gains)."""
    out = dict.fromkeys(augmentation_keys(regimes))
    y = _class_ids(test_labels)
    seeds = sorted({r["seed"] for r in runs})
    out.update(dataset=str(dataset), size=int(size), ratio=float(ratio), n_seeds=len(seeds), n_test=len(y),
               majority_floor_acc=float(np.bincount(y).max() / len(y)), alpha=ALPHA, classifier_runs=len(runs),
               classifier_seconds=round(sum(float(r.get("seconds") or 0.0) for r in runs), 1))
    for reg in regimes:
        p = regime_name(reg)
        sel = [r for r in runs if r["regime"] == float(reg)]
        if not sel:
            continue
        out[f"{p}_n_real"] = sel[0]["n_real"]
        out[f"{p}_n_synthetic"] = max(r["n_synthetic"] for r in sel)
        by = {(r["arm"], r["seed"]): r for r in sel}
        for arm in ARMS:
            for m in METRICS:
                vals = [by[(arm, s)][m] for s in seeds if (arm, s) in by]
                if vals:
                    out[f"{p}_{arm}_{m}_mean"], out[f"{p}_{arm}_{m}_std"] = _mean_std(vals)
        for m in METRICS:
            gains = [by[("mixed", s)][m] - by[("real", s)][m] for s in seeds
                     if ("mixed", s) in by and ("real", s) in by
                     and by[("mixed", s)][m] is not None and by[("real", s)][m] is not None]
            if gains:
                g = paired_gain(gains)
                out[f"{p}_gain_{m}_mean"], out[f"{p}_gain_{m}_std"] = g["mean"], g["std"]
                out[f"{p}_gain_{m}_ci_low"], out[f"{p}_gain_{m}_ci_high"] = g["ci_low"], g["ci_high"]
                out[f"{p}_gain_{m}_p_value"] = g["p_value"]
    # the ceiling: 100 % of the real labels (the p100 regime's real arm when that regime was run)
    ceiling = [r for r in runs if r["arm"] == "ceiling"] or \
        [r for r in runs if r["arm"] == "real" and r["regime"] == 1.0]
    for m in METRICS:
        if ceiling:
            out[f"ceiling_{m}_mean"], out[f"ceiling_{m}_std"] = _mean_std([r[m] for r in ceiling])
    ref = REFERENCE_BASELINES.get((str(dataset), int(size)))
    if ref is None:
        out["baseline_reason"] = f"no published reference figures recorded for {dataset} at {size} px"
    elif out.get("ceiling_auc_mean") is None:
        out["baseline_reason"] = "the 100 % real arm (ceiling) was not run"
    if ref is not None:
        out.update(baseline_source=ref["source"], baseline_reference_auc=ref["auc"], baseline_reference_acc=ref["acc"])
        if out.get("ceiling_auc_mean") is not None:
            out["baseline_auc"] = out["ceiling_auc_mean"]
            out["baseline_acc"] = out["ceiling_acc_mean"]
            out["baseline_auc_distance"] = out["baseline_auc"] - ref["auc"]
            out["baseline_acc_distance"] = out["baseline_acc"] - ref["acc"]
    return out
