"""Compare domain feature spaces on PneumoniaMNIST-28: effective dimension and the FID sanity ordering.

Usage (from the repository root, MEDGANBENCH_DATA set)::

    python benchmarks/extractor_comparison.py                       # the default (shipped) extractor
    python benchmarks/extractor_comparison.py --classifier           # + the classifier method (trains it)
    python benchmarks/extractor_comparison.py --folder DIR [DIR ...] # extractors written by train_extractor

For each space it prints the effective dimension (participation ratio of the training split's feature
covariance), a linear probe's validation AUC, and FID against the training split (4,708 images) of sets
of known quality, all with n = 524 (the val split's size):

    val            held-out real images (same distribution, never trained on)
    train_copies   524 training images (a copier)
    test           the official test split (624; another class mix: 37.5 % normal vs 25.8 %)
    noise5/10      val + Gaussian noise, sigma 5 / 10 grey levels
    blur0.5/1      val + Gaussian blur, sigma 0.5 / 1 px
    collapse20     20 val images, each repeated ~26 times with +-2 grey-level jitter
    uniform        uniform noise images

FID here is numpy/scipy (the same formula as torch-fidelity), so the script needs no worker process.
Numbers are in docs/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fid(a: np.ndarray, b: np.ndarray) -> float:
    import scipy.linalg

    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1 + s2 - 2.0 * covmean))


def sanity_sets(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """-> (train images, {name: uint8 (N, 28, 28, 1)}, train labels, val labels)."""
    from scipy.ndimage import gaussian_filter

    from medganbench.data import load_dataset

    tr, va, te = (load_dataset("pneumoniamnist", s) for s in ("train", "val", "test"))
    rng = np.random.default_rng(seed)
    v = va.images
    n = len(v)

    def noisy(s):
        return np.clip(v + rng.normal(0, s, v.shape), 0, 255).astype(np.uint8)

    def blur(s):
        return np.clip(np.rint(gaussian_filter(v.astype(float), (0, s, s, 0))), 0, 255).astype(np.uint8)

    pick = rng.choice(n, 20, replace=False)
    coll = v[np.repeat(pick, math.ceil(n / 20))[:n]].astype(int) + rng.integers(-2, 3, v.shape)
    sets = {"val": v, "train_copies": tr.images[rng.choice(len(tr.images), n, replace=False)], "test": te.images,
            "noise5": noisy(5), "noise10": noisy(10), "blur0.5": blur(0.5), "blur1": blur(1.0),
            "collapse20": np.clip(coll, 0, 255).astype(np.uint8),
            "uniform": rng.integers(0, 256, v.shape).astype(np.uint8)}
    return tr.images, sets, tr.labels, va.labels


def evaluate_space(name: str, features, train, sets, train_seconds=None) -> dict:
    from medganbench.metrics.spectrum import effective_dim

    ref = features(train)
    row = {"name": name, "dim": int(ref.shape[1]), "effective_dim": effective_dim(ref),
           "train_seconds": train_seconds}
    for key, imgs in sets.items():
        row[key] = round(fid(ref, features(imgs)), 4)
    # common sense: held-out real < every mild corruption < a collapse < pure noise
    mild = ("noise5", "noise10", "blur0.5", "blur1")
    row["ordering_ok"] = bool(all(row["val"] < row[m] < row["collapse20"] for m in mild)
                              and row["collapse20"] < row["uniform"])
    row["copies_over_val"] = round(row["train_copies"] / row["val"], 3)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", nargs="*", default=[], help="extractor folders (weights.npz + meta.json)")
    p.add_argument("--classifier", action="store_true", help="also the classifier method (trained if not cached)")
    p.add_argument("--no-default", action="store_true", help="skip the default extractor")
    p.add_argument("--out", default=None, help="append JSON lines here")
    a = p.parse_args()
    from medganbench.metrics.domain import CLASSIFIER_RECIPE, _load, get_domain_extractor

    train, sets, _, _ = sanity_sets()
    spaces = []
    if not a.no_default:
        spaces.append(get_domain_extractor("pneumoniamnist", 28, progress=True))
    if a.classifier:
        spaces.append(get_domain_extractor("pneumoniamnist", 28, recipe=CLASSIFIER_RECIPE, progress=True))
    spaces += [_load(Path(f), "cache") for f in a.folder]
    for ext in spaces:
        t0 = time.perf_counter()
        label = f"{ext.meta['method']} {json.dumps({k: v for k, v in ext.meta['recipe'].items() if k in ('width', 'embedding', 'cov_weight', 'epochs', 'features')})}"
        row = evaluate_space(label, ext.features, train, sets, ext.meta.get("train_seconds"))
        row["probe_val_auc"] = (ext.meta.get("val_metrics") or {}).get("auc")
        row["weights_sha256"] = ext.weights_sha256[:12]
        row["eval_seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row), flush=True)
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
