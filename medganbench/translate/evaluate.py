"""Evaluate translation runs on the test split, side by side with the baselines -> ``result.json``.

Paired tasks (denoise-mr, denoise-xray, superres-mr): PSNR / SSIM / MAE of the model's output
and of every baseline (:mod:`medganbench.translate.metrics`) against the clean test targets;
baseline strengths are tuned on the val split. With several runs (seeds) of the same task and
model, the model's metrics and its gain over the best baseline come with mean and standard
deviation over seeds; the verdict says in words whether the model beats the best baseline.

Unpaired task (pneumonia-to-normal): cycle reconstruction error ``|F(G(a)) - a|``, how much the
translation changes the image ``|G(a) - a|``, and, when the kit's classifier is available
(``medganbench.metrics.domain``), the fraction of translated pneumonia X-rays classified normal next
to that fraction for the untranslated images (the baseline), and FID (domain features) of the
translated images to real normal training X-rays, next to the FID of the untranslated inputs.
What cannot be computed is ``skipped`` with the reason, never filled with a made-up number.

The result follows the benchmark's versioned ``result.json`` schema (``task: "translation"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.imageconv import float_to_unit, to_float, unit_to_uint8
from medganbench.io import save_figure
from medganbench.models.base import grouped_parameter_count
from medganbench.runfolder import RunFolder

PIXEL_EXTRACTOR = {"id": "pixel-psnr-ssim-mae/v1", "weights_sha256": None}


def _runs(run_dirs):
    from medganbench.translate.run import load_run

    if isinstance(run_dirs, (str, Path)):
        run_dirs = [run_dirs]
    loaded = [(Path(d), *load_run(d)) for d in run_dirs]
    first = loaded[0][1]
    for d, cfg, _, _ in loaded[1:]:
        if (cfg.task, cfg.model, cfg.size) != (first.task, first.model, first.size):
            raise MedGanBenchError(f"{d} is a {cfg.model} run on {cfg.task} at {cfg.size} px; the first run is "
                                   f"{first.model} on {first.task} at {first.size} px. Evaluate runs of one "
                                   "task and model together.")
    return loaded


def evaluate_translation(run_dirs, out: str | Path, *, dicom=None, data_root=None,
                         write_figures: bool = True, judge: bool = True, judge_recipe=None) -> dict:
    """Evaluate one or more runs (seeds) of one task/model; write ``out/result.json`` and return it.

    ``judge`` (unpaired task): compute the classifier and FID groups with the kit's domain classifier
    for PneumoniaMNIST (trained once and cached; ``judge_recipe`` overrides its recipe, for quick tests).
    Also writes ``out/outputs.npz`` (the first run's test outputs, a samples file: ``uint8``) and,
    with ``write_figures``, ``out/montage.png`` (input | output | target with difference maps).
    """
    from medganbench.bench.result import (
        PROTOCOL_VERSION,
        build_result,
        metric_group,
        samples_block,
        skipped,
        write_result,
    )
    from medganbench.samples import save_samples
    from medganbench.translate import metrics as M
    from medganbench.translate.tasks import build_pairs, get_task

    runs = _runs(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _, cfg, _, _ = runs[0]
    task = get_task(cfg.task)
    test = build_pairs(cfg.task, "test", size=cfg.size, dicom=dicom, data_root=data_root)
    outputs = [model.translate(to_float(test.inputs)) for _, _, model, _ in runs]
    out_u8 = [unit_to_uint8(float_to_unit(o)) for o in outputs]
    samples_path = save_samples(out / "outputs.npz", out_u8[0])

    groups: dict[str, dict] = {}
    extractors = {"pixel": PIXEL_EXTRACTOR}
    preprocessing = {"task": cfg.task, **{k: v for k, v in test.meta.items()}, "scale": "[0, 1]",
                     "test_noise_seed": "fixed per task and split"}
    if task.paired:
        val = build_pairs(cfg.task, "val", size=cfg.size, dicom=dicom, data_root=data_root)
        params = M.tune_baselines(cfg.task, val.inputs, val.targets)
        preprocessing["baseline_params_tuned_on_val"] = params
        baselines = {name: M.paired_metrics(o, test.targets)
                     for name, o in M.baseline_outputs(cfg.task, test.inputs, params).items()}
        per_seed = [M.paired_metrics(o, test.targets) for o in out_u8]
        best = M.best_baseline(baselines, "psnr")
        gains = [M.gain_over_baseline(m, baselines[best]) for m in per_seed]
        summary = M.summarize_seeds(gains)
        model_values = {}
        for k in ("psnr", "ssim", "mae"):
            vals = np.array([m[k] for m in per_seed])
            model_values[k] = float(vals.mean())
            model_values[f"{k}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        model_values["n_seeds"] = len(per_seed)
        groups["model"] = metric_group(model_values, extractor_id=PIXEL_EXTRACTOR["id"],
                                       n_generated=len(test), n_reference=len(test))
        for name, vals in baselines.items():
            groups[f"baseline_{name}"] = metric_group(vals, extractor_id=PIXEL_EXTRACTOR["id"],
                                                      n_generated=len(test), n_reference=len(test))
        groups["gain"] = metric_group({
            "best_baseline": best,
            **{f"{k}_gain_mean": v["mean"] for k, v in summary.items()},
            **{f"{k}_gain_std": v["std"] for k, v in summary.items()},
            "n_seeds": len(per_seed),
            "verdict": M.verdict(summary["psnr"]["mean"], summary["psnr"]["std"]),
        })
        per_seed_rows = [{"run": str(d), "seed": c.seed, **m} for (d, c, _, _), m in zip(runs, per_seed)]
    else:
        groups.update(_unpaired_groups(runs, test, metric_group, skipped, data_root=data_root, judge=judge,
                                       judge_recipe=judge_recipe, extractors=extractors))
        per_seed_rows = [{"run": str(d), "seed": c.seed} for d, c, _, _ in runs]

    if write_figures:
        _montage(test, out_u8[0], out / "montage.png")

    model0 = runs[0][2]
    states = [s for _, _, _, s in runs]
    eval_spec = {"protocol_version": PROTOCOL_VERSION, "dataset": _dataset_name(cfg.task), "size": int(cfg.size),
                 "reference_split": "test", "sample_count": len(test),
                 "extractors": extractors, "preprocessing": preprocessing,
                 "seeds": {"test_noise": "fixed", "train": [c.seed for _, c, _, _ in runs]}}
    result = build_result(
        task="translation",
        dataset={"name": _dataset_name(cfg.task), "size": int(cfg.size), "split": "train", "num_classes": None,
                 "channels": 1},
        model={"name": cfg.model, "config": {**RunFolder(runs[0][0]).model_config_dict(), "translation_task": cfg.task},
               "parameter_count": grouped_parameter_count(model0.parameter_counts(trainable_only=True)),
               "conditional": False, "source": "medganbench"},
        training={"steps": int(states[0]["step"]),
                  "images_seen": int(states[0]["step"]) * int(states[0]["batch_size"]),
                  "batch_size": int(states[0]["batch_size"]), "wall_time_s": float(states[0]["wall_time_s"]),
                  "budget": None, "run_dir": str(runs[0][0])},
        seeds={"eval": 0, "train": [c.seed for _, c, _, _ in runs]},
        samples=samples_block(samples_path, out_u8[0], False), eval_spec=eval_spec, groups=groups,
        artifacts={"montage": "montage.png" if write_figures else None, "outputs": samples_path.name})
    # per-seed rows go to their own file: the schema keeps result.json lean
    write_result(result, out / "result.json")
    from medganbench.io import atomic_write_text

    atomic_write_text(out / "per_seed.json", json.dumps(per_seed_rows, indent=2))
    return result


def _dataset_name(task: str) -> str:
    from medganbench.translate.tasks import get_task

    return "mr-t1w-studyforrest" if get_task(task).source == "mr" else "pneumoniamnist"


def _montage(test, out_u8, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from medganbench.translate.plots import montage_figure

    if test.paired:
        fig = montage_figure({"input": test.inputs, "output": out_u8, "target": test.targets}, test.targets)
    else:
        fig = montage_figure({"input": test.inputs, "output": out_u8}, test.inputs)
    save_figure(fig, path, dpi=120, close=True)


def _unpaired_groups(runs, test, metric_group, skipped, *, data_root=None, judge: bool = True,
                     judge_recipe=None, extractors: dict | None = None) -> dict[str, dict]:
    from medganbench.translate import metrics as M

    a = to_float(test.inputs)
    translated = [unit_to_uint8(float_to_unit(model.translate(a)))
                  for _, _, model, _ in runs]
    cycle = [M.paired_metrics(float_to_unit(model.reconstruct(a)), test.inputs) for _, _, model, _ in runs]
    change = [M.mae(t, test.inputs) for t in translated]
    groups = {
        "cycle": metric_group({**{k: float(np.mean([c[k] for c in cycle])) for k in ("psnr", "ssim", "mae")},
                               "n_seeds": len(runs)}, extractor_id=PIXEL_EXTRACTOR["id"],
                              n_generated=len(test), n_reference=len(test)),
        "change": metric_group({"mae_to_input": float(np.mean(change)),
                                "mae_to_input_std": float(np.std(change, ddof=1)) if len(change) > 1 else 0.0},
                               extractor_id=PIXEL_EXTRACTOR["id"], n_generated=len(test), n_reference=len(test)),
    }
    if not judge:
        reason = "classifier judge turned off for this evaluation (judge=False / --no-judge)"
        groups["classifier"] = skipped(reason)
        groups["fid_to_target"] = skipped(reason)
        return groups
    try:
        from medganbench.metrics.domain import CLASSIFIER_RECIPE, get_domain_extractor
    except ImportError:
        reason = "medganbench.metrics.domain (the kit's classifier judge) is not available in this build"
        return {**groups, "classifier": skipped(reason), "fid_to_target": skipped(reason)}
    # The judge is the classifier method (it must say normal or pneumonia), not the default VICReg space.
    ext = get_domain_extractor("pneumoniamnist", 28, recipe=judge_recipe or CLASSIFIER_RECIPE, root=data_root,
                               progress=False)
    if extractors is not None:
        extractors["domain"] = {"id": ext.id, "weights_sha256": ext.weights_sha256, "method": ext.spec["method"],
                                "effective_dim": ext.effective_dim}
    normal = 0  # PneumoniaMNIST label 0 = normal, 1 = pneumonia

    def normal_fraction(images):
        return float(np.mean(np.argmax(ext.classifier.predict_proba(images), axis=1) == normal))

    fractions = [normal_fraction(t) for t in translated]
    groups["classifier"] = metric_group({
        "translated_classified_normal_fraction": float(np.mean(fractions)),
        "translated_classified_normal_fraction_std": float(np.std(fractions, ddof=1)) if len(fractions) > 1 else 0.0,
        "input_classified_normal_fraction": normal_fraction(test.inputs),
        "real_normal_classified_normal_fraction": normal_fraction(test.targets),
        "n_seeds": len(runs),
    }, extractor_id=ext.id, n_generated=len(test), n_reference=len(test.targets))
    try:
        from medganbench.bench.groups import fidelity_group
        from medganbench.translate.tasks import build_pairs

        reference = build_pairs("pneumonia-to-normal", "train", data_root=data_root).targets  # real normal, train
        ref_f = ext.features(reference)
        # the benchmark's fidelity group: translated vs real normal X-rays; the floor from held-out normals
        group = fidelity_group(ref_f, ext.features(translated[0]), extractor_id=ext.id,
                               heldout_features=ext.features(test.targets), bootstrap=20)
        # the untranslated inputs in the same space: what translating has to improve on
        inputs = fidelity_group(ref_f, ext.features(test.inputs), extractor_id=ext.id, bootstrap=0)
        group["values"]["input_fid"] = inputs["values"].get("fid")
        group["values"]["input_fid_reason"] = inputs["values"].get("fid_reason")
        groups["fid_to_target"] = group
    except (MedGanBenchError, OSError, RuntimeError, ValueError) as exc:  # worker missing or failed: say so
        groups["fid_to_target"] = skipped(f"FID to the normal class could not be computed: "
                                          f"{type(exc).__name__}: {exc}")
    return groups
