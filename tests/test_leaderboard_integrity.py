"""A leaderboard no submission can edit: names cannot inject Markdown, numbers must agree with each other
and, given the samples file, with a recomputation of every number that can be recomputed."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _results import make_result

from medganbench.leaderboard import Collected, check_submission, collect, render_markdown, row_from_result
from medganbench.mdtext import md_text

EVIL_NAME = "x | 1 | evil | – | 0 | 0.01 | – | 1 | 1 | – | 0 | – | [a](b) |\n| 1 | injected row"
EVIL_AUTHOR = "mallory\n\n## Fake heading\n<script>alert(1)</script>"


def _write(folder: Path, name: str, result: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(result))
    return path


def _headings(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("#")]


def _table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if re.match(r"^\| \d+ \|", line)]


# --- names ----------------------------------------------------------------------------------------

def test_schema_refuses_names_that_would_inject_markdown(tmp_path):
    sub = tmp_path / "submissions"
    _write(sub, "good.json", make_result(model="cdcgan", fid=20.0))
    bad_model = make_result(model=EVIL_NAME, fid=1.0)
    _write(sub, "bad_model.json", bad_model)
    bad_author = make_result(model="dcgan", fid=1.0)
    bad_author["submission"] = {"name": "x", "author": EVIL_AUTHOR}
    _write(sub, "bad_author.json", bad_author)
    collected = collect(sub)  # what `leaderboard build` renders (without the plot, to stay fast)
    assert len(collected.rows) == 1 and set(collected.rejected) == {"bad_model.json", "bad_author.json"}
    assert any("model/name" in p for p in collected.rejected["bad_model.json"])
    assert any("submission/author" in p for p in collected.rejected["bad_author.json"])
    md = render_markdown(collected)
    # The rejected section quotes the values, escaped: no heading, row or HTML comes from them.
    assert "Fake heading" not in "\n".join(_headings(md)) and len(_table_rows(md)) == 1
    assert "<script>" not in md


def test_everything_rendered_is_escaped_even_past_the_schema(tmp_path):
    good = row_from_result(make_result(model="cdcgan", fid=20.0), file="good.json")
    evil = row_from_result(make_result(model="dcgan", fid=10.0), file="a|b)\n# x.json")
    evil.update(model=EVIL_NAME, submitter=EVIL_AUTHOR, budget="quick |\n## Budget heading", dataset="pneu\n# DS")
    good["rank"], evil["rank"] = 2, 1
    md = render_markdown(Collected(rows=[evil, good], rejected={"z\n# Rejected heading.json": ["p |\n# problem"]}))
    headings = _headings(md)
    assert not any(word in h for h in headings for word in ("Fake", "Budget heading", "Rejected heading", "problem"))
    assert len(_table_rows(md)) == 2
    assert all(line.count(" | ") == _table_rows(md)[1].count(" | ") for line in _table_rows(md))
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "](submissions/a%7Cb%29%0A%23%20x.json)" in md  # the link target cannot close the link
    assert md_text("a|b\n#c*_[`]") == "a\\|b \\#c\\*\\_\\[\\`\\]"


# --- numbers that contradict each other --------------------------------------------------------

def test_an_estimate_outside_its_own_interval_is_rejected_and_never_ranked(tmp_path):
    sub = tmp_path / "submissions"
    _write(sub, "honest.json", make_result(model="cdcgan", fid=20.0))
    edited = make_result(model="dcgan", fid=25.0)
    vals = edited["metrics"]["generation"]["domain"]["values"]
    vals.update(fid=0.01, fid_ci_low=24.0, fid_ci_high=27.0)  # hand-edited estimate, interval left alone
    _write(sub, "edited.json", edited)
    collected = collect(sub)
    assert len(collected.rows) == 1 and "edited.json" in collected.rejected
    assert any("outside its own interval" in p for p in collected.rejected["edited.json"])
    assert "| 1 | cdcgan" in render_markdown(collected)


def test_group_counts_must_match_the_samples(tmp_path):
    r = make_result(sample_count=200)
    r["metrics"]["generation"]["memorization"]["n_generated"] = 50  # 200 samples claimed
    problems = check_submission(_write(tmp_path, "r.json", r)).problems
    assert any("memorization.n_generated=50 differs from samples.count=200" in p for p in problems)


def test_leaderboard_marks_the_columns_it_cannot_verify(tmp_path):
    _write(tmp_path / "submissions", "a.json", make_result())
    md = render_markdown(collect(tmp_path / "submissions"))
    assert "Inception FID†" in md and "aug. gain (AUC)†" in md and "† unverified: shown as submitted" in md


# --- recomputation from the samples file ------------------------------------------------------------

@pytest.fixture(scope="module")
def evaluated(medmnist_root, tmp_path_factory):
    """A real evaluation of 300 training images (labelled), without the slow groups."""
    from medganbench.bench.protocol import evaluate_samples
    from medganbench.data import load_dataset
    from medganbench.samples import save_samples

    folder = tmp_path_factory.mktemp("evaluated")
    train = load_dataset("pneumoniamnist", "train", 28)
    idx = np.random.default_rng(7).choice(len(train), 300, replace=False)
    samples = save_samples(folder / "copies.npz", train.images[idx], train.labels[idx])
    path = evaluate_samples(samples, "pneumoniamnist", 28, folder / "eval", augmentation=False, inception="never",
                            model_name="copier", progress=False)
    return json.loads(path.read_text()), samples


@pytest.mark.slow
def test_validate_recomputes_every_number_and_names_what_it_cannot(evaluated, tmp_path):
    result, samples = evaluated
    report = check_submission(_write(tmp_path, "r.json", result), samples)
    assert report.problems == []
    verified = set(report.verified)
    domain = result["metrics"]["generation"]["domain"]["values"]
    memo = result["metrics"]["generation"]["memorization"]["values"]
    assert {f"metrics.generation.domain.values.{k}" for k in domain} <= verified  # all of them, CI and floor too
    assert {f"metrics.generation.memorization.values.{k}" for k in memo} <= verified
    assert {"samples.count", "samples.shape", "samples.labelled"} <= verified

    # An unverifiable number is accepted but named as unverified, with the reason.
    with_gain = copy.deepcopy(result)
    with_gain["metrics"]["generation"]["augmentation"] = {"status": "ok", "n_generated": 300,
                                                          "values": {"auc_gain_mean": 0.3, "auc_gain_std": 0.01}}
    report = check_submission(_write(tmp_path, "gain.json", with_gain), samples)
    assert report.problems == [] and "classifiers" in report.unverified["augmentation"]

    # Hand edits to numbers the old check never looked at are caught, each by name.
    edits = {("memorization", "near_copy_fraction"): 0.0}
    # (300 images are below protocol 2.0's 10 x D minimum for FID: its keys are None with a reason)
    for key in ("fid_ci_high", "fid_floor", "kid_std", "kid_excess", "kid_floor_mean"):
        if isinstance(domain.get(key), float):
            edits[("domain", key)] = domain[key] * 1.5 + 1.0
    for (group, key), value in edits.items():
        tampered = copy.deepcopy(result)
        tampered["metrics"]["generation"][group]["values"][key] = value
        problems = check_submission(_write(tmp_path, f"{key}.json", tampered), samples).problems
        assert any(f"{group}.values.{key}" in p for p in problems), (key, problems)
    # The file must be the one described: labels claimed absent, or a shape that is not the file's.
    tampered = copy.deepcopy(result)
    tampered["samples"]["labelled"] = False
    problems = check_submission(_write(tmp_path, "lab.json", tampered), samples).problems
    assert any("samples.labelled" in p for p in problems)


@pytest.mark.slow
def test_validate_cli_says_what_was_recomputed(evaluated, tmp_path, capsys):
    from medganbench.cli import main

    result, samples = evaluated
    path = _write(tmp_path, "r.json", result)
    assert main(["leaderboard", "validate", str(path), "--samples", str(samples)]) == 0
    out = capsys.readouterr().out
    assert "recomputed from the samples file and matched" in out
