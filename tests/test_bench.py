"""The benchmark protocol: result schema, bench end to end (smoke), eval of outside samples, memorization flag."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _results import make_result

from medganbench.bench.result import load_schema, spec_hash, validate_result

SMOKE = {"MEDGANBENCH_SMOKE": "1"}


# --- schema and consistency --------------------------------------------------------------------

def test_schema_is_draft_2020_12_and_itself_valid():
    import jsonschema

    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_good_result_validates():
    assert validate_result(make_result()) == []


def test_broken_result_lists_every_problem():
    r = make_result()
    del r["packages"]                                   # schema: missing field
    r["task"] = "generation"
    r["dataset"]["size"] = "28"                         # schema: wrong type
    r["samples"]["sha256"] = "xyz"                      # schema: not a sha256
    r["metrics"]["generation"]["inception"] = {"status": "skipped"}  # schema: skipped needs a reason
    r["training"]["images_seen"] = 7                    # consistency: not steps*batch
    r["eval_spec"]["sample_count"] = 999                # consistency: hash no longer matches, counts differ
    problems = validate_result(r)
    text = "\n".join(problems)
    for needle in ("'packages' is a required property", "dataset/size", "samples/sha256", "reason",
                   "images_seen", "eval_spec_hash", "samples.count=1000 differs"):
        assert needle in text, f"{needle!r} not reported in:\n{text}"
    assert len(problems) >= 7


def test_task_kind_selects_the_metrics_block():
    r = make_result()
    r["task"] = "translation"
    problems = validate_result(r)
    assert any("translation" in p and "required" in p for p in problems)
    r["metrics"] = {"translation": {"paired": {"status": "ok", "values": {"ssim": 0.8, "psnr": 24.0}}}}
    assert any("summary.score" in p for p in validate_result(r))  # the summary follows the metrics ...
    from medganbench.bench.result import summarize

    r["summary"] = summarize("translation", r["metrics"]["translation"])
    assert validate_result(r) == []  # ... and is the translation rule's once recomputed


def test_the_result_builder_validates_generation_and_translation_results():
    from medganbench.bench.result import PROTOCOL_VERSION, build_result, metric_group, skipped
    from medganbench.errors import MedGanBenchError

    gen = make_result()
    assert gen["protocol_version"] == PROTOCOL_VERSION == "2.0"
    assert gen["summary"]["rankable"] is True and gen["summary"]["score"] == pytest.approx(12.5)
    common = {k: gen[k] for k in ("dataset", "model", "training", "seeds", "samples")}
    spec = {**gen["eval_spec"], "extractors": {"pixel": {"id": "pixel-psnr-ssim-mae/v1", "weights_sha256": None}}}
    groups = {"model": metric_group({"psnr": 26.2, "psnr_std": 0.1, "n_seeds": 3}, extractor_id="pixel-psnr-ssim-mae/v1"),
              "gain": metric_group({"best_baseline": "bicubic", "psnr_gain_mean": 0.61, "psnr_gain_std": 0.12,
                                    "n_seeds": 3, "verdict": "beats"})}
    tr = build_result(task="translation", eval_spec=spec, groups=groups, **common)
    assert validate_result(tr) == [] and "translation" in tr["metrics"]
    s = tr["summary"]
    assert s["rankable"] and s["score"] == pytest.approx(0.61) and s["lower_is_better"] is False
    assert s["score_ci_low"] < 0.61 < s["score_ci_high"]
    unpaired = build_result(task="translation", eval_spec=spec, groups={"cycle": metric_group({"mae": 0.1})}, **common)
    assert unpaired["summary"]["rankable"] is False and unpaired["summary"]["reasons"]
    with pytest.raises(MedGanBenchError, match="reason"):  # a skipped group without its reason never gets written
        build_result(task="generation", eval_spec=gen["eval_spec"],
                     groups={**gen["metrics"]["generation"], "inception": {"status": "skipped"}}, **common)
    assert skipped("x")["reason"] == "x"


def test_spec_hash_is_canonical():
    spec = make_result()["eval_spec"]
    shuffled = dict(reversed(list(spec.items())))
    assert spec_hash(spec) == spec_hash(shuffled)
    other = copy.deepcopy(spec)
    other["sample_count"] += 1
    assert spec_hash(other) != spec_hash(spec)


def test_class_balanced_labels_follow_training_proportions():
    from medganbench.bench.protocol import class_balanced_labels

    train = np.array([0] * 25 + [1] * 75).reshape(-1, 1)
    labels = class_balanced_labels(train, 10, seed=0)
    assert labels.shape == (10, 1) and labels.dtype == np.int64
    assert np.bincount(labels[:, 0]).tolist() == [3, 7]  # 2.5 -> 3 by largest remainder, 7.5 -> 7


# --- end to end on the real data (smoke budget) ------------------------------------------------

def _result(out: Path) -> dict:
    r = json.loads((out / "result.json").read_text())
    assert validate_result(r) == [], validate_result(r)
    return r


@pytest.fixture(scope="module")
def training_copies(medmnist_root, tmp_path_factory):
    """An "outside submission" that is simply 300 training images (with labels): a pure copier."""
    from medganbench.data import load_dataset
    from medganbench.samples import save_samples

    train = load_dataset("pneumoniamnist", "train", 28)
    idx = np.random.default_rng(1).choice(len(train), 300, replace=False)
    return save_samples(tmp_path_factory.mktemp("copies") / "copies.npz", train.images[idx], train.labels[idx])


@pytest.mark.slow
def test_eval_flags_a_set_of_training_images_as_memorized(training_copies, tmp_path, cli):
    out = tmp_path / "eval"
    proc = cli("eval", "--samples", str(training_copies), "--dataset", "pneumoniamnist", "--out", str(out),
               "--model-name", "copier", "--no-progress", "--no-augmentation", env=SMOKE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(out)
    assert r["model"]["source"] == "external" and r["training"] is None
    mem = r["metrics"]["generation"]["memorization"]["values"]
    assert mem["memorized"] is True
    assert mem["near_copy_fraction"] == 1.0 and mem["exact_duplicates_train"] == 300
    dom = r["metrics"]["generation"]["domain"]
    assert dom["status"] == "ok" and dom["extractor_id"].startswith("domain-pneumoniamnist-28-")
    assert r["eval_spec"]["extractors"]["domain"]["weights_sha256"]
    assert (out / "memorization.png").is_file() and (out / "samples.png").is_file() and (out / "report.md").is_file()

    # the leaderboard recomputes the metrics from the samples file and agrees with itself ...
    from medganbench.leaderboard import validate_submission

    assert validate_submission(out / "result.json", samples=training_copies) == []
    # ... and catches a claimed number that the samples do not give
    tampered = json.loads((out / "result.json").read_text())
    tampered["metrics"]["generation"]["domain"]["values"]["kid_mean"] = 0.0
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    problems = validate_submission(tmp_path / "tampered.json", samples=training_copies)
    assert len(problems) == 1 and "kid_mean" in problems[0]


def test_eval_rejects_bad_input_with_a_clear_error(tmp_path, cli):
    proc = cli("eval", "--dataset", "pneumoniamnist")
    assert proc.returncode == 2 and "--samples" in proc.stderr
    np.savez(tmp_path / "floats.npz", images=np.zeros((4, 28, 28), np.float32))
    proc = cli("eval", "--samples", str(tmp_path / "floats.npz"))
    assert proc.returncode == 2 and "floats.npz" in proc.stderr and "uint8" in proc.stderr
    proc = cli("eval", "--samples", str(tmp_path / "missing.npz"))
    assert proc.returncode == 2 and "missing.npz" in proc.stderr


def test_bench_rejects_unknown_model_before_training(tmp_path, cli):
    proc = cli("bench", "--model", "dcgam", "--out", str(tmp_path))
    assert proc.returncode == 2 and "dcgan" in proc.stderr  # "Did you mean 'dcgan'?"


@pytest.mark.slow
def test_bench_end_to_end_smoke_writes_every_field(medmnist_root, tmp_path, cli):
    out = tmp_path / "bench"
    proc = cli("bench", "--model", "cdcgan", "--dataset", "pneumoniamnist", "--budget", "quick", "--seed", "3",
               "--out", str(out), "--no-progress", env=SMOKE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(out)
    from medganbench.bench.budgets import SMOKE as SMOKE_BUDGET

    assert r["training"]["budget"] == "smoke" and r["training"]["steps"] == SMOKE_BUDGET.steps
    assert r["training"]["images_seen"] == SMOKE_BUDGET.steps * SMOKE_BUDGET.batch_size
    assert r["training"]["wall_time_s"] > 0
    pc = r["model"]["parameter_count"]
    assert pc["generator"] > 1000 and pc["discriminator"] > 1000
    assert r["model"]["conditional"] is True and r["model"]["config"]
    assert r["samples"]["count"] == SMOKE_BUDGET.n_samples == r["eval_spec"]["sample_count"]
    assert r["samples"]["labelled"] is True and r["seeds"]["train"] == 3
    from medganbench.io import sha256_file

    assert r["samples"]["sha256"] == sha256_file(out / "samples.npz")
    groups = r["metrics"]["generation"]
    assert groups["domain"]["status"] == "ok" and groups["domain"]["values"]["kid_mean"] is not None
    assert groups["inception"]["status"] == "skipped" and groups["inception"]["reason"]
    assert groups["memorization"]["status"] == "ok"
    assert 0 <= groups["memorization"]["values"]["near_copy_fraction"] <= 1
    assert groups["augmentation"]["status"] == "ok"
    assert groups["augmentation"]["values"]["auc_gain_mean"] is not None
    for name in ("samples.png", "memorization.png", "report.md", "samples.npz"):
        assert (out / name).is_file(), name
    assert "augmentation" in (out / "report.md").read_text()


def test_a_finished_training_run_is_reused_only_when_its_settings_match(tmp_path):
    from medganbench.bench.runs import finished_run_matches as _finished_run_matches
    from medganbench.config import save_config
    from medganbench.train import TrainConfig

    cfg = TrainConfig(model="dcgan", steps=20, batch_size=32, seed=0, out=str(tmp_path), overwrite=True)
    assert not _finished_run_matches(tmp_path, cfg)              # nothing there
    save_config(cfg, tmp_path / "config.json")
    (tmp_path / "run.json").write_text(json.dumps({"step": 20}))
    (tmp_path / "generator.keras").write_bytes(b"x")
    assert _finished_run_matches(tmp_path, cfg)
    assert not _finished_run_matches(tmp_path, TrainConfig(**{**cfg.__dict__, "seed": 1}))
    assert not _finished_run_matches(tmp_path, TrainConfig(**{**cfg.__dict__, "steps": 40}))
