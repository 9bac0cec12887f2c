"""Augmentation gain and TSTR: do synthetic images help a classifier when real data are scarce?

For each low-data regime (a seeded, stratified fraction of the official training split) and each seed,
the fixed classifier recipe (:mod:`medganbench.classifier`) is trained on three arms:

* ``real``      (a) the real subset;
* ``mixed``     (b) the real subset + ``ratio × n_subset`` synthetic images with the subset's class
                balance (drawn without replacement from the caller's labelled synthetic pool);
* ``synthetic`` (c) those synthetic images alone (train on synthetic, test on real: TSTR).

Model selection uses the official validation split; the official TEST split is touched only for the
final numbers. Reported: mean ± std over seeds of ACC, AUC (macro one-vs-rest for multi-class) and
balanced accuracy, the gain (b − a) computed per seed then averaged (with its std), the majority-class
floor of the test split, and, for the 100 % real arm, the distance to the published MedMNIST v2
ResNet-18 baseline where the kit knows it. Taught in ``notebooks/04_conditional_gan_and_augmentation``.

The synthetic images are made by the caller (any generator): ``uint8 (N, H, W, C)`` + class labels.

Public API::

    AUGMENTATION_REGIMES = (0.01, 0.05, 0.10, 1.0); ARMS = ("real", "mixed", "synthetic")
    augmentation_gain(dataset, synthetic_images, synthetic_labels, *, size=28, regimes=AUGMENTATION_REGIMES,
                      seeds=(0, 1, 2), ratio=1.0, recipe=None, arms=ARMS, root=None, progress=True,
                      return_runs=False) -> dict  (or (dict, runs) with return_runs=True)
    augmentation_keys(regimes) -> tuple of the dict's keys (constant for given regimes)
    synthetic_needed(dataset, *, size=28, regimes=..., ratio=1.0, root=None) -> {class: images needed}
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

_GLOBAL_KEYS = ("dataset", "size", "ratio", "n_seeds", "n_test", "majority_floor_acc",
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
    return tuple(keys)


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


def augmentation_gain(dataset: str, synthetic_images, synthetic_labels, *, size: int = 28,
                      regimes=AUGMENTATION_REGIMES, seeds=(0, 1, 2), ratio: float = 1.0, recipe=None,
                      arms=ARMS, root=None, progress: bool = True, return_runs: bool = False):
    """Run the augmentation-gain / TSTR experiment -> flat dict with :func:`augmentation_keys` keys.

    synthetic_images: ``uint8 (N, H, W, C)`` at the data set's size/channels; synthetic_labels: ``(N,)``
    or ``(N, 1)`` class ids. ``seeds``: at least 3 (the spread is part of the result).
    ``return_runs=True`` also returns the per-run records (regime, seed, arm, metrics, steps, seconds).
    """
    from medganbench.classifier import ClassifierRecipe, evaluate, train_classifier
    from medganbench.data import load_dataset

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
    recipe = recipe or ClassifierRecipe()
    train = load_dataset(dataset, "train", size=size, root=root)
    val = load_dataset(dataset, "val", size=size, root=root)
    test = load_dataset(dataset, "test", size=size, root=root)
    task = train.card.get("task", "multi-class")
    if task == "multi-label":
        raise ConfigError(f"{dataset} is multi-label; the augmentation benchmark needs single-label classes.")
    syn_x = np.asarray(synthetic_images)
    if syn_x.ndim == 3:
        syn_x = syn_x[..., None]
    if syn_x.dtype != np.uint8:
        raise ConfigError(f"synthetic images must be uint8, got {syn_x.dtype}; see medganbench.data.pipeline.to_uint8.")
    if syn_x.shape[1:] != train.images.shape[1:]:
        raise ConfigError(f"synthetic images are {syn_x.shape[1:]} but {dataset} at {size} px is "
                          f"{train.images.shape[1:]}.")
    syn_y = _class_ids(synthetic_labels)
    if len(syn_y) != len(syn_x):
        raise ConfigError(f"{len(syn_x)} synthetic images but {len(syn_y)} labels.")
    num_classes = train.num_classes
    if syn_y.min(initial=0) < 0 or syn_y.max(initial=0) >= num_classes:
        raise ConfigError(f"synthetic labels must be class ids in [0, {num_classes - 1}].")
    train_y = _class_ids(train.labels)
    flip_dataset = dataset if not str(dataset).endswith(".npz") else None

    runs = []
    total = len(regimes) * len(seeds) * len(arms)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="augmentation gain", unit="run", disable=not progress)
    for r in regimes:
        for seed in seeds:
            idx = _subset_indices(train.labels, float(r), seed)
            rx, ry = train.images[idx], train_y[idx]
            rng = np.random.default_rng(10_000 + seed)
            sidx = _draw_synthetic(syn_y, ry, ratio, rng) if ("mixed" in arms or "synthetic" in arms) else None
            for arm in arms:
                if arm == "real":
                    x, y = rx, ry
                elif arm == "mixed":
                    x, y = np.concatenate([rx, syn_x[sidx]]), np.concatenate([ry, syn_y[sidx]])
                else:
                    x, y = syn_x[sidx], syn_y[sidx]
                clf = train_classifier(x, y, val.images, val.labels, recipe, seed, task=task, num_classes=num_classes,
                                       dataset=flip_dataset, progress=False)
                res = evaluate(clf, test.images, test.labels)
                runs.append({"regime": float(r), "seed": seed, "arm": arm, "n_real": len(rx),
                             "n_synthetic": 0 if arm == "real" else len(sidx), "n_train": len(x),
                             "best_step": clf.best_step, "seconds": round(clf.seconds, 2), **res})
                bar.update(1)
                bar.set_postfix(regime=regime_name(r), arm=arm, auc=f"{res['auc'] or float('nan'):.3f}")
    bar.close()
    summary = summarize_runs(runs, regimes=regimes, dataset=dataset, size=size, ratio=ratio, test_labels=test.labels)
    return (summary, runs) if return_runs else summary


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
               majority_floor_acc=float(np.bincount(y).max() / len(y)))
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
                out[f"{p}_gain_{m}_mean"], out[f"{p}_gain_{m}_std"] = _mean_std(gains)
    ref = REFERENCE_BASELINES.get((str(dataset), int(size)))
    full = regime_name(1.0)
    if ref is None:
        out["baseline_reason"] = f"no published reference figures recorded for {dataset} at {size} px"
    elif out.get(f"{full}_real_auc_mean") is None:
        out["baseline_reason"] = "the 100 % real arm was not run"
    if ref is not None:
        out.update(baseline_source=ref["source"], baseline_reference_auc=ref["auc"], baseline_reference_acc=ref["acc"])
        if out.get(f"{full}_real_auc_mean") is not None:
            out["baseline_auc"] = out[f"{full}_real_auc_mean"]
            out["baseline_acc"] = out[f"{full}_real_acc_mean"]
            out["baseline_auc_distance"] = out["baseline_auc"] - ref["auc"]
            out["baseline_acc_distance"] = out["baseline_acc"] - ref["acc"]
    return out
