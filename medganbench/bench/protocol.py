"""The benchmark protocol, orchestration only: train -> sample -> evaluate -> ``result.json`` + pictures + report.

Two entry points:

- :func:`run_benchmark` (CLI ``medganbench bench``): trains a registered model under a budget
  (:mod:`medganbench.bench.budgets`), samples ``budget.n_samples`` images (class-balanced like the
  training split for conditional models), evaluates them and writes ``OUT/result.json``,
  ``OUT/samples.npz``, ``OUT/samples.png``, ``OUT/memorization.png`` and ``OUT/report.md``.
- :func:`evaluate_samples` (CLI ``medganbench eval``): the same evaluation for a samples file made by
  any tool (npz with uint8 ``images`` and, for conditional models, ``labels``). This is how outside
  submissions enter the leaderboard.

Who does what: the configs are in :mod:`.config`, the metric groups in :mod:`.groups`, training and
the reuse of finished runs in :mod:`.runs`, the result file in :mod:`.result` (one builder for every
task), pictures and report in :mod:`.report`, recomputing a submission's numbers in :mod:`.recompute`. See docs/benchmark.md.
"""

from __future__ import annotations

from pathlib import Path

from medganbench.bench import groups as G
from medganbench.bench.budgets import Budget, get_budget
from medganbench.bench.config import BenchConfig, EvalConfig  # noqa: F401  (the protocol's public configs)
from medganbench.bench.report import save_sample_grid, write_report
from medganbench.bench.result import (
    PROTOCOL_VERSION,
    build_result,
    identity_problems,
    samples_block,
    skipped,
    write_result,
)
from medganbench.bench.runs import SubsetGenerator, train_generator
from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.labels import check_labels, class_balanced_labels
from medganbench.outdir import check_writable
from medganbench.samples import load_samples, save_samples

#: Fewest samples an evaluation accepts: precision/recall need k+1 points for their k-NN radii.
MIN_EVAL_SAMPLES = G.FIDELITY_SETTINGS["prc_neighborhood"] + 1


def evaluate_generated(images, labels, *, dataset, size, out, seed, budget: Budget, augmentation, inception,
                       inception_weights, progress, synthesize=None, augmentation_cache=None):
    """Every metric group of a generated set -> (eval_spec, groups dict, artifacts dict).

    synthesize: the generator for the augmentation study, trained per regime on its subset
    (:class:`~medganbench.bench.runs.SubsetGenerator`); None for samples made outside the kit.
    """
    if images.shape[1:3] != (size, size):
        raise MedGanBenchError(f"samples are {images.shape[1]}×{images.shape[2]} px but the data set size is "
                               f"{size}; evaluate at --size {images.shape[1]} or resize the samples.")
    extractor, features, domain = G.domain_group(images, dataset, size, seed, budget, progress)
    inc_spec, inc = G.inception_group(images, dataset, size, seed, budget, inception, inception_weights, progress)
    memo, memo_png = G.memorization_group(images, features, extractor, dataset, size, out)
    if not augmentation:
        aug = skipped("augmentation study turned off for this evaluation.")
    elif labels is None:
        aug = skipped("the samples carry no labels (unconditional model), so they cannot be added to a "
                      "classifier's training set; augmentation gain needs a class-conditional generator.")
    else:
        aug = G.augmentation_group(synthesize, dataset, size, budget, progress, cache_dir=augmentation_cache)
    extractors = {"domain": extractor.spec}
    if inc_spec is not None:
        extractors["inception"] = inc_spec
    spec = G.generation_spec(dataset=dataset, size=size, sample_count=len(images), extractors=extractors,
                             budget=budget, seed=seed)
    groups = {"domain": domain, "inception": inc, "memorization": memo, "augmentation": aug}
    return spec, groups, {"memorization_png": memo_png.name if memo_png else None}


def _finish(result: dict, out: Path) -> Path:
    path = write_result(result, out / "result.json")
    write_report(result, out / "report.md")
    return path


def _dataset_block(dataset: str, size: int, train, images) -> dict:
    return {"name": dataset, "size": int(size), "split": G.REFERENCE_SPLIT, "num_classes": train.num_classes,
            "channels": int(images.shape[-1])}


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
    if reference_split not in (None, G.REFERENCE_SPLIT):
        raise MedGanBenchError(f"protocol {PROTOCOL_VERSION} always compares against the {G.REFERENCE_SPLIT!r} "
                               f"split (got {reference_split!r}).")
    samples_path = Path(samples_path)
    out = Path(out) if out is not None else samples_path.parent / f"{samples_path.stem}-eval"
    # Everything that can be checked is checked before the metrics run: names, the output folder, the file, labels.
    bad_names = identity_problems(model_name, submission)
    if bad_names:
        raise ConfigError(f"--model-name / --author would be refused by the leaderboard: {'; '.join(bad_names)}")
    check_writable(out, "--out")
    images, labels = load_samples(samples_path, min_count=MIN_EVAL_SAMPLES)
    b = get_budget(budget)
    train = G.load_split(dataset, G.REFERENCE_SPLIT, size)
    if images.shape[-1] != train.images.shape[-1]:
        raise MedGanBenchError(f"{samples_path}: images have {images.shape[-1]} channel(s), {dataset} has "
                               f"{train.images.shape[-1]}.")
    if labels is not None:
        check_labels(labels, len(images), str(samples_path), num_classes=train.num_classes)
    out.mkdir(parents=True, exist_ok=True)
    spec, groups, artifacts = evaluate_generated(images, labels, dataset=dataset, size=size, out=out, seed=seed,
                                                 budget=b, augmentation=augmentation, inception=inception,
                                                 inception_weights=inception_weights, progress=progress)
    artifacts["samples_png"] = save_sample_grid(images, out / "samples.png", labels,
                                                class_names=train.card.get("classes")).name
    artifacts["report"] = "report.md"
    model = {"name": model_name, "config": None, "parameter_count": None, "conditional": labels is not None,
             "source": "external"}
    result = build_result(task="generation", dataset=_dataset_block(dataset, size, train, images), model=model,
                          training=None, seeds={"eval": int(seed)},
                          samples=samples_block(samples_path, images, labels is not None), eval_spec=spec,
                          groups=groups, artifacts=artifacts, submission=submission)
    return _finish(result, out)


def run_benchmark(cfg: BenchConfig, model_overrides: dict | None = None) -> Path:
    """Train ``cfg.model`` on ``cfg.dataset`` under ``cfg.budget``, evaluate, write ``OUT/result.json`` (returned).

    model_overrides: model config keys (``--set KEY=VALUE``, e.g. ``{"diffaugment": "color,translation,cutout"}``),
    used for the main generator and the per-subset generators alike and recorded in the result's model config.
    """
    from medganbench.registry import MODELS
    from medganbench.samples import generate_samples
    from medganbench.train import TrainConfig

    budget = get_budget(cfg.budget)
    out = Path(cfg.out)
    check_writable(out, "--out")  # before anything slow; the folder is made only once the inputs are known good
    MODELS.entry(cfg.model)  # unknown model -> ConfigError before anything slow
    if MODELS.info(cfg.model).get("task") == "translation":
        raise MedGanBenchError(f"{cfg.model} is a translation model; benchmark it with `medganbench translate`.")
    train = G.load_split(cfg.dataset, G.REFERENCE_SPLIT, cfg.size)
    out.mkdir(parents=True, exist_ok=True)

    tcfg = TrainConfig(model=cfg.model, dataset=cfg.dataset, size=cfg.size, split=G.REFERENCE_SPLIT,
                       steps=budget.steps, batch_size=budget.batch_size, seed=cfg.seed, out=str(out / "train"),
                       overwrite=True, progress=cfg.progress)
    run = train_generator(tcfg, model_overrides=model_overrides)
    conditional = bool(run["conditional"])
    labels = class_balanced_labels(train.labels, budget.n_samples, cfg.seed) if conditional else None
    images, labels = generate_samples(run["run_dir"], budget.n_samples, labels=labels, seed=cfg.seed)
    samples_path = save_samples(out / "samples.npz", images, labels)
    images, labels = load_samples(samples_path)  # evaluate exactly what the file holds

    synthesize = SubsetGenerator(cfg.model, cfg.dataset, cfg.size, steps=budget.augmentation_steps,
                                 batch_size=budget.batch_size, out=out / "augmentation",
                                 num_classes=train.num_classes,
                                 model_overrides=model_overrides) if conditional else None
    spec, groups, artifacts = evaluate_generated(images, labels, dataset=cfg.dataset, size=cfg.size, out=out,
                                                 seed=cfg.seed, budget=budget, augmentation=cfg.augmentation,
                                                 inception=cfg.inception, inception_weights=cfg.inception_weights,
                                                 progress=cfg.progress, synthesize=synthesize,
                                                 augmentation_cache=out / "augmentation")
    artifacts["samples_png"] = save_sample_grid(images, out / "samples.png", labels,
                                                title=f"{cfg.model} · {cfg.dataset} · {budget.name}",
                                                class_names=train.card.get("classes")).name
    artifacts["report"] = "report.md"
    model = {"name": cfg.model, "config": run["config"], "parameter_count": run["parameter_count"],
             "conditional": conditional, "source": "medganbench"}
    if model_overrides:  # the leaderboard names them: a DiffAugment run is not the plain model
        model["options"] = {k: model_overrides[k] for k in sorted(model_overrides)}
    run_dir = Path(run["run_dir"])
    training = {"steps": run["steps"], "images_seen": run["steps"] * budget.batch_size,
                "batch_size": budget.batch_size, "wall_time_s": run["wall_time_s"], "budget": budget.name,
                "run_dir": str(run_dir.relative_to(out)) if run_dir.is_relative_to(out) else str(run_dir)}
    result = build_result(task="generation", dataset=_dataset_block(cfg.dataset, cfg.size, train, images),
                          model=model, training=training,
                          seeds={"train": cfg.seed, "sample": cfg.seed, "eval": cfg.seed},
                          samples=samples_block(samples_path, images, labels is not None), eval_spec=spec,
                          groups=groups, artifacts=artifacts,
                          submission={"name": f"{cfg.model} ({budget.name} budget)", "author": "medganbench"})
    return _finish(result, out)
