"""Does DiffAugment help a DCGAN trained on 5 % of PneumoniaMNIST? Same runs with and without, over seeds.

The generator is trained on the benchmark's low-data regime (a stratified 5 % subset of the training
split, subset seed 0: 235 images), with and without ``diffaugment=color,translation,cutout``, for each
training seed; every run is sampled (``--n`` images) and evaluated by the benchmark's own evaluation
(``medganbench eval``'s :func:`~medganbench.bench.protocol.evaluate_samples`: domain FID against the full
training split, precision/recall, and protocol 2.0's ``summary.score``). Prints one row per run and the paired difference per seed; writes
``OUT/summary.json``.

    MEDGANBENCH_DATA=... python benchmarks/diffaugment_low_data.py --steps 800 --seeds 0 1 2 --out runs/da

Timings depend on the machine's load; the comparison is paired (same seed, same subset, same steps).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

POLICY = "color,translation,cutout"


def _flat(d, prefix=""):
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _pick(result: dict) -> dict:
    flat = _flat(result)
    want = {}
    for key, v in flat.items():
        leaf = key.rsplit(".", 1)[-1]
        if "domain" in key and leaf in ("fid", "precision", "recall", "kid_mean", "fid_excess") and \
                isinstance(v, (int, float)):
            want.setdefault(leaf, v)
    score = (result.get("summary") or {}).get("score")  # protocol 2.0's ranking number (1000 x KID excess)
    if isinstance(score, (int, float)):
        want["score"] = score
    return want


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=2000, help="generated images evaluated per run")
    ap.add_argument("--model", default="dcgan")
    ap.add_argument("--out", default="runs/diffaugment_low_data")
    args = ap.parse_args(argv)

    from medganbench.bench.protocol import evaluate_samples
    from medganbench.data import load_dataset
    from medganbench.data.subsets import subset
    from medganbench.sample import generate_samples
    from medganbench.samples import save_samples
    from medganbench.train import TrainConfig, run_training

    out = Path(args.out)
    train = load_dataset("pneumoniamnist", split="train")
    small = subset(train, fraction=args.fraction, seed=0)
    print(f"low-data regime: {len(small.images)} of {len(train.images)} training images", flush=True)
    rows = []
    for seed in args.seeds:
        for policy in ("", POLICY):
            tag = f"{'da' if policy else 'plain'}-seed{seed}"
            cfg = TrainConfig(model=args.model, steps=args.steps, batch_size=args.batch_size, seed=seed,
                              out=str(out / tag), overwrite=True, progress=False, sample_every=0,
                              checkpoint_every=0, log_every=max(args.steps // 50, 1))
            run = run_training(cfg, {"diffaugment": policy}, dataset=small)
            images, _ = generate_samples(run, args.n, seed=seed)
            samples = save_samples(out / f"{tag}.npz", images)
            result = json.loads(Path(evaluate_samples(samples, "pneumoniamnist", out=out / f"{tag}-eval", seed=seed,
                                                      augmentation=False, inception="never",
                                                      progress=False)).read_text())
            row = {"seed": seed, "diffaugment": policy or "off", **_pick(result)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {"steps": args.steps, "batch_size": args.batch_size, "fraction": args.fraction,
               "train_images": int(len(small.images)), "n_samples": args.n, "model": args.model, "runs": rows}
    for metric in ("score", "fid", "precision", "recall"):
        diffs = [on[metric] - off[metric] for off, on in zip(rows[::2], rows[1::2])
                 if metric in on and metric in off]
        if diffs:
            summary[f"{metric}_difference_da_minus_plain"] = {
                "per_seed": diffs, "mean": float(np.mean(diffs)),
                "std": float(np.std(diffs, ddof=1)) if len(diffs) > 1 else None}
            print(f"{metric}: DiffAugment - plain = {np.mean(diffs):+.3f} per seed {np.round(diffs, 3).tolist()}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
