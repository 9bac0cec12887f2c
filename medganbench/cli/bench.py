"""``medganbench bench`` (train + sample + evaluate under a budget) and ``medganbench eval`` (outside samples)."""

from __future__ import annotations

import argparse
import json

from medganbench.config import add_dataclass_arguments, dataclass_from_args


def _summary(path) -> None:
    from medganbench.bench.result import load_result

    r = load_result(path)
    dom = r["metrics"]["generation"]["domain"]
    vals = dom.get("values") or {}
    print(f"wrote {path}")
    print(f"  eval spec {r['eval_spec_hash'][:12]}  samples {r['samples']['count']}")
    for name, g in r["metrics"]["generation"].items():
        if g["status"] != "ok":
            print(f"  {name:<13} skipped: {g['reason'][:150]}")
    keys = ("fid", "fid_ci_low", "fid_ci_high", "fid_floor", "kid_mean", "precision", "recall")
    print("  domain " + json.dumps({k: vals.get(k) for k in keys}))
    mem = r["metrics"]["generation"]["memorization"]
    if mem["status"] == "ok":
        print(f"  near-copy fraction {mem['values'].get('near_copy_fraction')}")
    aug = r["metrics"]["generation"]["augmentation"]
    if aug["status"] == "ok":
        a = aug["values"]
        print(f"  augmentation AUC gain {a.get('auc_gain_mean')} [95% CI {a.get('auc_gain_ci_low')}, "
              f"{a.get('auc_gain_ci_high')}], p={a.get('auc_gain_p_value')} (generator trained on each subset)")
    s = r.get("summary") or {}
    print(f"  summary: {s.get('score_name')} = {s.get('score')} "
          f"[{s.get('score_ci_low')}, {s.get('score_ci_high')}], rankable: {s.get('rankable')}")
    for reason in s.get("reasons") or []:
        print(f"    not rankable: {reason}")
    for warning in s.get("warnings") or []:
        print(f"    warning: {warning}")


def _smoke_budget(cfg, settings=None):
    """Smoke mode (``MEDGANBENCH_SMOKE=1``, read by the CLI's ``main``) makes the command run ``--budget smoke``."""
    import dataclasses

    from medganbench.runtime import is_smoke

    return dataclasses.replace(cfg, budget="smoke") if is_smoke(settings) else cfg


def _bench(args: argparse.Namespace) -> int:
    from medganbench.bench.protocol import BenchConfig, run_benchmark
    from medganbench.cli.train import model_overrides

    cfg = _smoke_budget(dataclass_from_args(BenchConfig, args), getattr(args, "settings", None))
    _summary(run_benchmark(cfg, model_overrides(cfg.model, args.set)))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from medganbench.bench.protocol import EvalConfig, evaluate_samples

    cfg = _smoke_budget(dataclass_from_args(EvalConfig, args), getattr(args, "settings", None))
    if not cfg.samples:
        from medganbench.errors import ConfigError

        raise ConfigError("eval needs --samples FILE.npz (uint8 'images' and, for conditional models, 'labels').")
    submission = {"name": cfg.model_name, **({"author": cfg.author} if cfg.author else {})}
    path = evaluate_samples(cfg.samples, cfg.dataset, cfg.size, cfg.out, seed=cfg.seed, budget=cfg.budget,
                            augmentation=cfg.augmentation, inception=cfg.inception,
                            inception_weights=cfg.inception_weights, model_name=cfg.model_name,
                            submission=submission, progress=cfg.progress)
    _summary(path)
    return 0


def add_commands(sub) -> None:
    from medganbench.bench.protocol import BenchConfig, EvalConfig

    b = sub.add_parser("bench", help="benchmark a model: train, sample, evaluate, write result.json",
                       description="Train a registered model under a budget, sample, evaluate every metric and "
                                   "write OUT/result.json, samples.npz, samples.png, memorization.png, report.md.")
    add_dataclass_arguments(b, BenchConfig, group_title="benchmark")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="model config override, repeatable (e.g. --set diffaugment=color,translation,cutout)")
    b.set_defaults(func=_bench)
    e = sub.add_parser("eval", help="evaluate a samples file made elsewhere (outside submissions)",
                       description="Evaluate a samples npz (uint8 'images', optional 'labels') and write "
                                   "OUT/result.json in the benchmark's format.")
    add_dataclass_arguments(e, EvalConfig, group_title="evaluation")
    e.set_defaults(func=_eval)
