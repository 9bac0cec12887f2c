"""The benchmark protocol: train -> sample -> evaluate every metric -> ``result.json`` + pictures + report.

Two entry points:

- :func:`run_benchmark` (CLI ``medganbench bench``): trains a registered model under a budget
  (:mod:`medganbench.bench.budgets`), samples ``budget.n_samples`` images (class-balanced like the
  training split for conditional models), evaluates them and writes ``OUT/result.json``,
  ``OUT/samples.npz``, ``OUT/samples.png``, ``OUT/memorization.png`` and ``OUT/report.md``.
- :func:`evaluate_samples` (CLI ``medganbench eval``): the same evaluation for a samples file made by
  any tool (npz with uint8 ``images`` and, for conditional models, ``labels``). This is how outside
  submissions enter the leaderboard.

Evaluation (always the same, so results are comparable):

1. domain features (the kit's classifier trained on the official training split,
   :mod:`medganbench.metrics.domain`) -> FID with bootstrap CI and real-vs-real floor, KID,
   precision/recall against the training split; the test split is the held-out real set;
2. Inception-v3 (torch-fidelity's weights) when the weights can be had and ``inception`` allows it;
   otherwise the group is ``skipped`` with the reason (never a made-up number);
3. memorization: near copies of training images and exact duplicates of any real split;
4. augmentation gain (labelled samples only): the fixed classifier recipe on a low-data subset, with
   and without synthetic images, and on synthetic images alone (TSTR).

Everything the numbers depend on goes into ``eval_spec`` and its hash; see docs/benchmark.md.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medganbench.bench.budgets import HEADLINE_REGIME, Budget, get_budget
from medganbench.bench.report import save_sample_grid, write_report
from medganbench.bench.result import (
    PROTOCOL_VERSION,
    hardware_info,
    identity_problems,
    metric_group,
    now_iso,
    package_versions,
    skipped,
    spec_hash,
    write_result,
)
from medganbench.errors import ConfigError, MedGanBenchError, WeightsUnavailable
from medganbench.io import atomic_write_text, sha256_file
from medganbench.labels import check_labels, class_balanced_labels
from medganbench.outdir import check_writable
from medganbench.samples import load_samples, save_samples

#: The split every generator trains on and every fidelity metric compares against.
REFERENCE_SPLIT = "train"
#: Real images of the training distribution the generator never saw: every floor, the real-vs-real
#: values and the memorization calibration. (The test split is shifted: 37.5 % normal images against
#: train's 25.8 %, so a floor from it is not a floor; see docs/metrics.md.)
HELDOUT_SPLIT = "val"
#: Fixed settings of the fidelity metrics (the bootstrap count comes from the budget); all go into the spec.
FIDELITY_SETTINGS = {"kid_subsets": 100, "prc_neighborhood": 3, "fid_min_samples_per_dim": 10.0, "draws": 20}
#: Significance level of the memorization verdict (one-sided binomial test; medganbench.metrics.memorization).
MEMORIZATION_ALPHA = 0.001
#: Fewest samples an evaluation accepts: precision/recall need k+1 points for their k-NN radii.
MIN_EVAL_SAMPLES = FIDELITY_SETTINGS["prc_neighborhood"] + 1


@dataclass
class BenchConfig:
    """One benchmark run (CLI flags of ``medganbench bench`` are built from these fields)."""

    model: str = field(default="cdcgan", metadata={"help": "registered model name (medganbench.registry.MODELS)"})
    dataset: str = field(default="pneumoniamnist", metadata={"help": "data set name (MedMNIST flag)"})
    size: int = field(default=28, metadata={"help": "image size: 28, 64, 128 or 224"})
    budget: Literal["quick", "standard", "full", "smoke"] = field(
        default="quick", metadata={"help": "training/evaluation budget; quick = about 10 min on 2 CPU cores"})
    seed: int = field(default=0, metadata={"help": "seed of training, sampling and evaluation"})
    out: str = field(default="runs/bench", metadata={"help": "output folder (result.json, samples, pictures)"})
    inception: Literal["auto", "always", "never"] = field(
        default="auto", metadata={"help": "Inception-v3 metrics: auto = when weights are found and a GPU is "
                                          "present (about 8 img/s on CPU), always, never"})
    inception_weights: str | None = field(
        default=None, metadata={"help": "torch-fidelity Inception weights file (else MEDGANBENCH_INCEPTION_WEIGHTS)"})
    augmentation: bool = field(default=True, metadata={"help": "run the augmentation-gain study (conditional models)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


@dataclass
class EvalConfig:
    """Evaluation of an outside samples file (CLI flags of ``medganbench eval``)."""

    samples: str = field(default="", metadata={"help": "samples file: npz with uint8 'images' (+ 'labels')"})
    dataset: str = field(default="pneumoniamnist", metadata={"help": "data set the generator imitates"})
    size: int = field(default=28, metadata={"help": "image size of the samples"})
    out: str | None = field(default=None, metadata={"help": "output folder (default: beside the samples)"})
    seed: int = field(default=0, metadata={"help": "evaluation seed"})
    budget: Literal["quick", "standard", "full", "smoke"] = field(
        default="quick", metadata={"help": "picks the augmentation regimes (part of the evaluation spec)"})
    augmentation: bool = field(default=True, metadata={"help": "run the augmentation study (labelled samples)"})
    inception: Literal["auto", "always", "never"] = field(default="auto", metadata={"help": "see bench --inception"})
    inception_weights: str | None = field(default=None, metadata={"help": "Inception weights file"})
    model_name: str = field(default="external", metadata={"help": "name shown on the leaderboard"})
    author: str | None = field(default=None, metadata={"help": "submitter shown on the leaderboard"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


# --- small helpers -----------------------------------------------------------------------------

def _load(dataset: str, split: str, size: int):
    from medganbench.data import load_dataset

    return load_dataset(dataset, split=split, size=size)


def _has_gpu() -> bool:
    from medganbench.bench.result import _accelerator

    return _accelerator() is not None


# --- evaluation --------------------------------------------------------------------------------

def _fidelity_settings(budget: Budget) -> dict:
    return {"fid_bootstrap": budget.fid_bootstrap, **FIDELITY_SETTINGS}


def _domain_group(images, dataset, size, seed, budget: Budget, progress):
    """-> (extractor, features dict {generated, train, test}, metric group)."""
    from medganbench.metrics.domain import get_domain_extractor, reference_features
    from medganbench.metrics.fidelity import fidelity_from_features

    extractor = get_domain_extractor(dataset, size, progress=progress)
    real = reference_features(dataset, size, REFERENCE_SPLIT, extractor)
    heldout = reference_features(dataset, size, HELDOUT_SPLIT, extractor)
    fake = extractor.features(images)
    values = fidelity_from_features(real, fake, heldout_features=heldout, seed=seed,
                                    bootstrap=budget.fid_bootstrap,
                                    kid_subsets=FIDELITY_SETTINGS["kid_subsets"],
                                    prc_neighborhood=FIDELITY_SETTINGS["prc_neighborhood"],
                                    fid_min_samples_per_dim=FIDELITY_SETTINGS["fid_min_samples_per_dim"],
                                    draws=FIDELITY_SETTINGS["draws"])
    group = metric_group(values, extractor_id=extractor.id, n_generated=len(images), n_reference=len(real))
    return extractor, {"generated": fake, "train": real, "heldout": heldout}, group


def _inception_group(images, dataset, size, seed, budget: Budget, mode, weights, progress):
    """-> (extractor spec or None, metric group)."""
    if mode == "never":
        return None, skipped("Inception metrics turned off (--inception never).")
    from medganbench.metrics.inception import get_inception_extractor

    try:
        extractor = get_inception_extractor(weights)
    except WeightsUnavailable as exc:
        return None, skipped(f"Inception weights unavailable: {exc}")
    if mode == "auto" and not _has_gpu():
        return None, skipped("Inception features run at about 8 images/s on CPU, so --inception auto skips "
                             "them without a GPU; pass --inception always to compute them anyway.")
    from medganbench.metrics.domain import reference_features
    from medganbench.metrics.fidelity import fidelity_from_features

    real = reference_features(dataset, size, REFERENCE_SPLIT, extractor)  # cached per extractor id
    heldout = reference_features(dataset, size, HELDOUT_SPLIT, extractor)
    fake, logits = extractor.features_and_logits(images, progress=progress)
    values = fidelity_from_features(real, fake, heldout_features=heldout, fake_logits=logits, seed=seed,
                                    bootstrap=budget.fid_bootstrap)
    from medganbench.metrics.spectrum import effective_dim

    spec = {**extractor.spec, "effective_dim": effective_dim(real), "effective_dim_split": REFERENCE_SPLIT}
    return spec, metric_group(values, extractor_id=extractor.id, n_generated=len(images),
                                        n_reference=len(real))


def _memorization_group(images, features, extractor, dataset, size, out):
    """Near copies (pixel and domain space) and exact duplicates -> (metric group, picture path or None)."""
    from medganbench.metrics.memorization import closest_pairs_figure, memorization_report

    train = _load(dataset, REFERENCE_SPLIT, size).images
    heldout = _load(dataset, HELDOUT_SPLIT, size).images
    test = _load(dataset, "test", size).images
    values = memorization_report(images, train, heldout, features=features, other_splits={"test": test},
                                 alpha=MEMORIZATION_ALPHA)
    picture = None
    if out is not None:
        import matplotlib.pyplot as plt

        picture = Path(out) / "memorization.png"
        fig = closest_pairs_figure(images, train, picture, n=8, space="pixel",
                                   title="Generated images closest to a training image (normalised pixels)")
        plt.close(fig)
    return metric_group(values, extractor_id=extractor.id, n_generated=len(images), n_reference=len(train)), picture


def _augmentation_group(images, labels, dataset, size, budget: Budget, progress):
    if labels is None:
        return skipped("the samples carry no labels (unconditional model), so they cannot be added to a "
                       "classifier's training set; augmentation gain needs a class-conditional generator.")
    from medganbench.classifier import ClassifierRecipe
    from medganbench.metrics.augmentation import augmentation_gain, regime_name

    recipe = ClassifierRecipe(epochs=budget.classifier_epochs, min_steps=budget.classifier_min_steps)
    try:
        values = augmentation_gain(dataset, images, labels, size=size, regimes=budget.augmentation_fractions,
                                   seeds=budget.augmentation_seeds, ratio=budget.synthetic_ratio, recipe=recipe,
                                   progress=progress)
    except ConfigError as exc:  # e.g. too few labelled samples of a class for the regime: say so, no number
        return skipped(f"augmentation study could not run on these samples: {exc}")
    head = regime_name(HEADLINE_REGIME)
    # the headline numbers the leaderboard shows, copied under constant names
    headline = {"headline_regime": head,
                "auc_gain_mean": values.get(f"{head}_gain_auc_mean"), "auc_gain_std": values.get(f"{head}_gain_auc_std"),
                "acc_gain_mean": values.get(f"{head}_gain_acc_mean"), "acc_gain_std": values.get(f"{head}_gain_acc_std"),
                "tstr_auc_mean": values.get(f"{head}_synthetic_auc_mean"),
                "real_auc_mean": values.get(f"{head}_real_auc_mean")}
    return metric_group({**headline, **values}, n_generated=len(images))


def _augmentation_spec(budget: Budget) -> dict:
    return {"budget": budget.name, "fractions": list(budget.augmentation_fractions),
            "seeds": list(budget.augmentation_seeds), "synthetic_ratio": budget.synthetic_ratio,
            "headline_regime": HEADLINE_REGIME, "classifier_epochs": budget.classifier_epochs,
            "classifier_min_steps": budget.classifier_min_steps}


def _evaluate(images, labels, *, dataset, size, out, seed, budget: Budget, augmentation, inception,
              inception_weights, progress):
    """-> (eval_spec, metrics groups dict, artifacts dict)."""
    if images.shape[1:3] != (size, size):
        raise MedGanBenchError(f"samples are {images.shape[1]}×{images.shape[2]} px but the data set size is "
                               f"{size}; evaluate at --size {images.shape[1]} or resize the samples.")
    extractor, features, domain = _domain_group(images, dataset, size, seed, budget, progress)
    inc_spec, inc = _inception_group(images, dataset, size, seed, budget, inception, inception_weights, progress)
    memo, memo_png = _memorization_group(images, features, extractor, dataset, size, out)
    if augmentation:
        aug = _augmentation_group(images, labels, dataset, size, budget, progress)
    else:
        aug = skipped("augmentation study turned off for this evaluation.")
    extractors = {"domain": extractor.spec}
    if inc_spec is not None:
        extractors["inception"] = inc_spec
    spec = {
        "protocol_version": PROTOCOL_VERSION, "dataset": dataset, "size": int(size),
        "reference_split": REFERENCE_SPLIT, "heldout_split": HELDOUT_SPLIT, "sample_count": len(images),
        "extractors": extractors,
        "preprocessing": {name: ex.get("preprocessing", "") for name, ex in extractors.items()},
        "fidelity": _fidelity_settings(budget),
        "memorization": {"alpha": MEMORIZATION_ALPHA, "near_copy_quantile": 0.01,
                         "distance": "contrast-normalised pixels and domain features"},
        "augmentation": _augmentation_spec(budget),
        "seeds": {"eval": int(seed)},
    }
    groups = {"domain": domain, "inception": inc, "memorization": memo, "augmentation": aug}
    return spec, groups, {"memorization_png": memo_png.name if memo_png else None}


def _assemble(*, dataset, size, num_classes, channels, model, training, seeds, samples_path, images, labels,
              spec, groups, artifacts, submission=None) -> dict:
    result = {
        "protocol_version": PROTOCOL_VERSION, "task": "generation", "created": now_iso(),
        "dataset": {"name": dataset, "size": int(size), "split": REFERENCE_SPLIT, "num_classes": num_classes,
                    "channels": channels},
        "model": model, "training": training, "hardware": hardware_info(), "seeds": seeds,
        "packages": package_versions(),
        "samples": {"file": Path(samples_path).name, "sha256": sha256_file(samples_path), "count": len(images),
                    "shape": [int(s) for s in images.shape[1:]], "labelled": labels is not None},
        "eval_spec": spec, "eval_spec_hash": spec_hash(spec),
        "metrics": {"generation": groups}, "artifacts": artifacts,
    }
    if submission:
        result["submission"] = submission
    return result


def _finish(result: dict, out: Path) -> Path:
    path = write_result(result, out / "result.json")
    write_report(result, out / "report.md")
    return path


def evaluate_samples(samples_path: str | Path, dataset: str, size: int = 28, out: str | Path | None = None, *,
                     seed: int = 0, budget: str = "quick", augmentation: bool = True,
                     inception: str = "auto", inception_weights: str | None = None, model_name: str = "external",
                     submission: dict | None = None, progress: bool = True, reference_split: str | None = None
                     ) -> Path:
    """Evaluate a samples file made by any tool and write ``OUT/result.json`` (returned).

    samples_path: npz with ``uint8`` ``images`` ``(N, H, W)`` / ``(N, H, W, C)`` and optional ``labels`` ``(N, 1)``.
    The domain extractor always runs (offline); Inception metrics are added when their weights are
    available (else recorded as skipped with the reason); augmentation gain needs labels.
    ``budget`` picks the augmentation regimes (part of the evaluation spec).
    """
    if reference_split not in (None, REFERENCE_SPLIT):
        raise MedGanBenchError(f"protocol {PROTOCOL_VERSION} always compares against the {REFERENCE_SPLIT!r} split "
                               f"(got {reference_split!r}).")
    samples_path = Path(samples_path)
    out = Path(out) if out is not None else samples_path.parent / f"{samples_path.stem}-eval"
    # Everything that can be checked is checked before the metrics run: names, the output folder, the file, labels.
    bad_names = identity_problems(model_name, submission)
    if bad_names:
        raise ConfigError(f"--model-name / --author would be refused by the leaderboard: {'; '.join(bad_names)}")
    check_writable(out, "--out")
    images, labels = load_samples(samples_path, min_count=MIN_EVAL_SAMPLES)
    b = get_budget(budget)
    train = _load(dataset, REFERENCE_SPLIT, size)
    if images.shape[-1] != train.images.shape[-1]:
        raise MedGanBenchError(f"{samples_path}: images have {images.shape[-1]} channel(s), {dataset} has "
                               f"{train.images.shape[-1]}.")
    if labels is not None:
        check_labels(labels, len(images), str(samples_path), num_classes=train.num_classes)
    out.mkdir(parents=True, exist_ok=True)
    spec, groups, artifacts = _evaluate(images, labels, dataset=dataset, size=size, out=out, seed=seed, budget=b,
                                        augmentation=augmentation, inception=inception,
                                        inception_weights=inception_weights, progress=progress)
    artifacts["samples_png"] = save_sample_grid(images, out / "samples.png", labels,
                                                class_names=train.card.get("classes")).name
    artifacts["report"] = "report.md"
    model = {"name": model_name, "config": None, "parameter_count": None, "conditional": labels is not None,
             "source": "external"}
    result = _assemble(dataset=dataset, size=size, num_classes=train.num_classes, channels=int(images.shape[-1]),
                       model=model, training=None, seeds={"eval": int(seed)}, samples_path=samples_path,
                       images=images, labels=labels, spec=spec, groups=groups, artifacts=artifacts,
                       submission=submission)
    return _finish(result, out)


def recompute_domain_metrics(samples_path: str | Path, spec: dict) -> tuple[dict | None, str | None]:
    """Recompute the domain metric group of a samples file under a result's ``eval_spec``.

    Returns ``(group, None)``, or ``(None, problem)`` when this machine cannot reproduce the spec (other
    extractor weights, settings or sample count), in which case the numbers cannot be checked here.
    """
    images, _ = load_samples(samples_path)
    budget = get_budget((spec.get("augmentation") or {}).get("budget", "quick"))
    seed = int((spec.get("seeds") or {}).get("eval", 0))
    if len(images) != spec.get("sample_count"):
        return None, f"the samples file holds {len(images)} images, the spec says {spec.get('sample_count')}."
    if _fidelity_settings(budget) != spec.get("fidelity"):
        return None, (f"fidelity settings {_fidelity_settings(budget)} of budget {budget.name!r} differ from the "
                      f"spec's {spec.get('fidelity')}; was the result made with another medganbench version?")
    extractor, _, group = _domain_group(images, spec["dataset"], int(spec["size"]), seed, budget, progress=False)
    theirs = (spec.get("extractors") or {}).get("domain") or {}
    if extractor.spec != theirs:
        diff = sorted(k for k in set(extractor.spec) | set(theirs) if extractor.spec.get(k) != theirs.get(k))
        return None, (f"this machine's domain extractor differs from the result's (in: {', '.join(diff)}); the "
                      "metrics cannot be checked here (retrained weights differ across machines).")
    return group, None


def run_benchmark(cfg: BenchConfig) -> Path:
    """Train ``cfg.model`` on ``cfg.dataset`` under ``cfg.budget``, evaluate, write ``OUT/result.json`` (returned)."""
    from medganbench.registry import MODELS

    budget = get_budget(cfg.budget)
    out = Path(cfg.out)
    check_writable(out, "--out")  # before anything slow; the folder is made only once the inputs are known good
    MODELS.entry(cfg.model)  # unknown model -> ConfigError before anything slow
    if MODELS.info(cfg.model).get("task") == "translation":
        raise MedGanBenchError(f"{cfg.model} is a translation model; benchmark it with `medganbench translate`.")
    train = _load(cfg.dataset, REFERENCE_SPLIT, cfg.size)
    out.mkdir(parents=True, exist_ok=True)

    run = _train(cfg, budget, out / "train")
    conditional = bool(run["conditional"])
    labels = class_balanced_labels(train.labels, budget.n_samples, cfg.seed) if conditional else None
    from medganbench.samples import generate_samples

    images, labels = generate_samples(run["run_dir"], budget.n_samples, labels=labels, seed=cfg.seed)
    samples_path = save_samples(out / "samples.npz", images, labels)
    images, labels = load_samples(samples_path)  # evaluate exactly what the file holds

    spec, groups, artifacts = _evaluate(images, labels, dataset=cfg.dataset, size=cfg.size, out=out, seed=cfg.seed,
                                        budget=budget, augmentation=cfg.augmentation, inception=cfg.inception,
                                        inception_weights=cfg.inception_weights, progress=cfg.progress)
    artifacts["samples_png"] = save_sample_grid(images, out / "samples.png", labels,
                                                title=f"{cfg.model} · {cfg.dataset} · {budget.name}",
                                                class_names=train.card.get("classes")).name
    artifacts["report"] = "report.md"
    model = {"name": cfg.model, "config": run["config"], "parameter_count": run["parameter_count"],
             "conditional": conditional, "source": "medganbench"}
    training = {"steps": run["steps"], "images_seen": run["steps"] * budget.batch_size,
                "batch_size": budget.batch_size, "wall_time_s": run["wall_time_s"], "budget": budget.name,
                "run_dir": str(Path(run["run_dir"]).relative_to(out)) if Path(run["run_dir"]).is_relative_to(out)
                else str(run["run_dir"])}
    result = _assemble(dataset=cfg.dataset, size=cfg.size, num_classes=train.num_classes,
                       channels=int(images.shape[-1]), model=model, training=training,
                       seeds={"train": cfg.seed, "sample": cfg.seed, "eval": cfg.seed}, samples_path=samples_path,
                       images=images, labels=labels, spec=spec, groups=groups, artifacts=artifacts,
                       submission={"name": f"{cfg.model} ({budget.name} budget)", "author": "medganbench"})
    return _finish(result, out)


def _finished_run_matches(run_dir: Path, tcfg) -> bool:
    """True when ``run_dir`` holds a finished training run made with the same settings (progress aside)."""
    import json

    try:
        saved = json.loads((run_dir / "config.json").read_text())
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return False
    want = {k: v for k, v in dataclasses.asdict(tcfg).items() if k not in ("progress", "overwrite")}
    same = all(saved.get(k) == v for k, v in want.items())
    return same and int(info.get("step", -1)) == tcfg.steps and (run_dir / "generator.keras").is_file()


def _train(cfg: BenchConfig, budget: Budget, run_dir: Path) -> dict:
    """Train with the kit's Trainer -> {run_dir, steps, wall_time_s, config, parameter_count, conditional}."""
    import json

    from medganbench.models.base import grouped_parameter_count
    from medganbench.runfolder import RunFolder
    from medganbench.train import TrainConfig, run_training

    tcfg = TrainConfig(model=cfg.model, dataset=cfg.dataset, size=cfg.size, split=REFERENCE_SPLIT,
                       steps=budget.steps, batch_size=budget.batch_size, seed=cfg.seed, out=str(run_dir),
                       overwrite=True, progress=cfg.progress)
    timing = run_dir / "bench_wall_time.json"
    if _finished_run_matches(run_dir, tcfg) and timing.is_file():
        # A finished run with the same config (e.g. the evaluation crashed or was interrupted): reuse it.
        run, wall = run_dir, float(json.loads(timing.read_text())["wall_time_s"])
    else:
        t0 = time.perf_counter()
        run = run_training(tcfg).run_dir
        wall = time.perf_counter() - t0
        atomic_write_text(timing, json.dumps({"wall_time_s": round(wall, 2)}))
    folder = RunFolder(run)
    info = folder.info()
    model_cfg = folder.model_config_dict() or None
    pc = grouped_parameter_count(info.get("parameter_counts") or {})
    return {"run_dir": run, "steps": int(info.get("step", budget.steps)), "wall_time_s": round(wall, 2),
            "config": {"train": dataclasses.asdict(tcfg), "model": model_cfg}, "parameter_count": pc,
            "conditional": bool(info.get("conditional")), "images_per_sec": info.get("images_per_sec")}
