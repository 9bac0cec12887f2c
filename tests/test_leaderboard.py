"""Leaderboard: validate (schema, consistency, recomputation) and build (tables, CSV, plot) on temp folders."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import make_result, with_spec

from medganbench.leaderboard import build_leaderboard, collect, validate_submission


def _write(folder: Path, name: str, result: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(json.dumps(result))
    return p


def test_build_ranks_by_fid_and_writes_md_csv_png(tmp_path):
    sub = tmp_path / "submissions"
    _write(sub, "b.json", make_result(model="dcgan", fid=30.0))
    _write(sub, "a.json", make_result(model="cdcgan", fid=10.0))
    _write(sub, "c.json", make_result(model="wgan-gp", fid=20.0))
    info = build_leaderboard(tmp_path)
    assert info["n_ranked"] == 3 and info["n_rejected"] == 0
    md = info["markdown"].read_text()
    assert md.index("| 1 | cdcgan") < md.index("| 2 | wgan-gp") < md.index("| 3 | dcgan")
    rows = list(csv.DictReader(info["csv"].open()))
    assert [r["model"] for r in rows] == ["cdcgan", "wgan-gp", "dcgan"]
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert info["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_different_spec_hashes_are_never_ranked_together(tmp_path):
    sub = tmp_path / "submissions"
    base = make_result(model="dcgan", fid=30.0)
    _write(sub, "a.json", base)
    _write(sub, "b.json", with_spec(make_result(model="cdcgan", fid=5.0, extractor_id="domain-other"),
                                    extractors={"domain": {"id": "domain-other", "weights_sha256": "1" * 64}}))
    other = make_result(model="mlp", fid=50.0, sample_count=1200)
    _write(sub, "c.json", other)
    collected = collect(sub)
    assert not collected.rejected
    hashes = {r["model"]: r["eval_spec_hash"] for r in collected.rows}
    assert len(set(hashes.values())) == 3
    # each is alone in its spec group, so each is rank 1 even though cdcgan has the best FID
    assert all(r["rank"] == 1 for r in collected.rows)
    md = build_leaderboard(tmp_path)["markdown"].read_text()
    assert md.count("### Evaluation spec") == 3


def test_build_ranks_only_rankable_results_and_lists_the_others_with_their_reasons(tmp_path):
    sub = tmp_path / "submissions"
    _write(sub, "good.json", make_result(model="cdcgan", fid=10.0))
    _write(sub, "worse.json", make_result(model="dcgan", fid=30.0))
    # the best score of all, but a copier: never ranked, listed below with the reason
    _write(sub, "copier.json", make_result(model="copier", fid=0.5, near=1.0, memorized=True))
    info = build_leaderboard(tmp_path)
    assert info["n_ranked"] == 2 and info["n_unranked"] == 1 and info["n_rejected"] == 0
    md = info["markdown"].read_text()
    ranked_part, unranked_part = md.split("Not ranked:")
    assert ranked_part.index("| 1 | cdcgan") < ranked_part.index("| 2 | dcgan") and "copier" not in ranked_part
    assert "| copier |" in unranked_part and "memorized" in unranked_part
    rows = {r["model"]: r for r in csv.DictReader(info["csv"].open())}
    assert (rows["cdcgan"]["rank"], rows["dcgan"]["rank"], rows["copier"]["rank"]) == ("1", "2", "")
    assert rows["copier"]["status"] == "not rankable" and "memorized" in rows["copier"]["reasons"]


def test_protocol_1_results_are_listed_apart_as_superseded(tmp_path):
    import shutil

    from medganbench.bench.result import validate_result, validate_superseded

    v1 = Path(__file__).parents[1] / "leaderboard" / "submissions" / "dcgan-quick-seed0.json"
    old = json.loads(v1.read_text())
    assert old["protocol_version"] == "1.0" and validate_superseded(old) == []
    assert any("superseded" in p for p in validate_result(old))  # never valid as a current result
    sub = tmp_path / "submissions"
    sub.mkdir()
    shutil.copy(v1, sub / "old.json")
    _write(sub, "new.json", make_result(model="cdcgan", fid=10.0))
    info = build_leaderboard(tmp_path)
    assert info["n_ranked"] == 1 and info["n_superseded"] == 1 and info["n_rejected"] == 0
    md = info["markdown"].read_text()
    current, superseded = md.split("## Superseded results (generation)")
    assert "old.json" not in current and "| 1.0 | generation | dcgan" in superseded
    tampered = dict(old, eval_spec_hash="0" * 64)  # a superseded file is still checked against its own schema
    (sub / "old.json").write_text(json.dumps(tampered))
    assert "old.json" in build_leaderboard(tmp_path)["rejected"]


def test_a_summary_edited_after_evaluation_is_invalid(tmp_path):
    from medganbench.bench.result import validate_result

    r = make_result(model="copier", fid=0.5, memorized=True)
    assert r["summary"]["rankable"] is False and validate_result(r) == []
    r["summary"].update(rankable=True, reasons=[])
    assert any("summary.rankable" in p for p in validate_result(r))


def test_build_lists_rejected_submissions_with_their_problems(tmp_path):
    sub = tmp_path / "submissions"
    _write(sub, "good.json", make_result())
    bad = make_result(model="cheat", fid=0.1)
    bad["eval_spec"]["sample_count"] = 10  # edited after the fact: hash and counts no longer agree
    _write(sub, "bad.json", bad)
    (sub / "broken.json").write_text("{not json")
    info = build_leaderboard(tmp_path)
    assert info["n_ranked"] == 1 and set(info["rejected"]) == {"bad.json", "broken.json"}
    md = info["markdown"].read_text()
    assert "Rejected submissions" in md and "eval_spec_hash" in md.replace("\\", "") and "cheat" not in md.split("## Rejected")[0]


def test_validate_cli_lists_every_problem_and_exits_nonzero(tmp_path, cli):
    good = _write(tmp_path, "good.json", make_result())
    bad_result = make_result()
    del bad_result["hardware"]
    bad_result["protocol_version"] = "9.9"
    bad_result["metrics"]["generation"]["memorization"]["values"]["near_copy_fraction"] = 1.5
    bad = _write(tmp_path, "bad.json", bad_result)
    ok = cli("leaderboard", "validate", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    proc = cli("leaderboard", "validate", str(good), str(bad))
    assert proc.returncode == 1
    out = proc.stdout
    assert "bad.json: INVALID" in out
    assert "hardware" in out and "not supported" in out and "near_copy_fraction" in out
    assert "eval_spec.protocol_version" in out  # the spec was made under another version
    assert "INVALID (4 problems)" in out


def test_validate_with_wrong_samples_file_is_rejected(tmp_path):
    import numpy as np

    from medganbench.samples import save_samples

    path = _write(tmp_path, "r.json", make_result())
    samples = save_samples(tmp_path / "s.npz", np.zeros((200, 28, 28), np.uint8))
    problems = validate_submission(path, samples=samples)
    assert len(problems) == 1 and "sha256" in problems[0]


def test_build_cli(tmp_path, cli):
    _write(tmp_path / "submissions", "a.json", make_result())
    proc = cli("leaderboard", "build", "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "LEADERBOARD.md").is_file() and (tmp_path / "leaderboard.csv").is_file()
    missing = cli("leaderboard", "build", "--root", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "submissions" in missing.stderr


def test_bench_and_leaderboard_modules_import_neither_tensorflow_nor_torch():
    import subprocess

    code = ("import sys, medganbench.bench.protocol, medganbench.leaderboard, medganbench.cli.bench, "
            "medganbench.cli.leaderboard; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'torch', 'keras')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_training_options_are_named_beside_the_model(tmp_path):
    # A DiffAugment run of dcgan is not the plain dcgan: the table must tell the two rows apart.
    sub = tmp_path / "submissions"
    _write(sub, "plain.json", make_result(model="dcgan", fid=30.0))
    with_options = make_result(model="dcgan", fid=20.0)
    with_options["model"]["options"] = {"diffaugment": "color,translation,cutout"}
    _write(sub, "da.json", with_options)
    collected = collect(sub)
    assert not collected.rejected, collected.rejected
    assert sorted(r["model"] for r in collected.rows) == ["dcgan", "dcgan + diffaugment=color,translation,cutout"]
    bad = make_result(model="dcgan", fid=20.0)
    bad["model"]["options"] = {"Bad Key": "x", "diffaugment": "a\nb"}
    problems = validate_submission(_write(tmp_path / "bad", "bad.json", bad))
    assert any("options" in p for p in problems), problems
