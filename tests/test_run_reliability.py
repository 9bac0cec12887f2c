"""Training runs that can always be finished, cannot be shared by two processes, and fail early and cleanly.

Runs here are a few steps of the MLP GAN on 64 tiny images, so each costs seconds.
"""

from __future__ import annotations

import pytest

from medganbench.errors import ConfigError
from medganbench.models import make_config


@pytest.mark.parametrize("key, value, rule", [
    ("latent_dim", "-3", "at least 1"),
    ("learning_rate_generator", "0", "greater than 0"),
    ("beta_1", "1.5", r"\[0, 1\)"),
    ("gradient_penalty_weight", "-1", "0 or more"),
    ("learning_rate_discriminator", "nan", "finite"),
])
def test_bad_model_config_values_fail_when_the_config_is_built(key, value, rule):
    with pytest.raises(ConfigError, match=rule) as info:
        make_config("dcgan", **{key: value})
    assert key in str(info.value) and "\n" not in str(info.value)


def test_train_set_with_a_bad_value_is_one_line_before_any_work(tmp_path, capsys):
    from medganbench.cli import main

    out = tmp_path / "run"
    assert main(["train", "--model", "dcgan", "--set", "latent_dim=-3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "latent_dim=-3" in err and "at least 1" in err
    assert not out.exists()


# --- the run lock ---------------------------------------------------------------------------------

def _holder_process(run_dir, tmp_path):
    """A separate process that takes the run lock, says so, and sleeps (killed by the test)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    ready = tmp_path / "ready"
    code = ("import sys, time, pathlib; from medganbench.runlock import hold_run_lock\n"
            "with hold_run_lock(sys.argv[1]):\n"
            "    pathlib.Path(sys.argv[2]).write_text('x'); time.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", code, str(run_dir), str(ready)], env=env)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.05)
    return proc


def test_a_live_run_lock_refuses_a_second_run_and_a_dead_one_is_reported_and_taken_over(tmp_path):
    from medganbench.runlock import RunLocked, hold_run_lock, lock_path

    run_dir = tmp_path / "run"
    proc = _holder_process(run_dir, tmp_path)
    try:
        with pytest.raises(RunLocked, match=rf"in use by a live run \(pid {proc.pid} ") as info:
            with hold_run_lock(run_dir):
                pass
        assert "\n" not in str(info.value) and "--overwrite never replaces a live run" in str(info.value)
    finally:
        proc.kill()  # SIGKILL: no cleanup runs, the lock file stays behind
        proc.wait()
    assert lock_path(run_dir).is_file()
    notes = []
    with hold_run_lock(run_dir, report=notes.append):
        (note,) = notes
        assert f"pid {proc.pid}" in note and "no longer alive" in note
    assert not lock_path(run_dir).exists()  # released on exit


def test_bench_with_an_unknown_model_leaves_no_empty_folder(tmp_path, capsys):
    from medganbench.cli import main

    out = tmp_path / "new" / "bench"
    assert main(["bench", "--model", "dcgam", "--out", str(out)]) == 2
    assert "dcgan" in capsys.readouterr().err  # "Did you mean 'dcgan'?"
    assert not (tmp_path / "new").exists()


# --- training runs (the Trainer) --------------------------------------------------------------------

TINY = {"base_filters": 8, "latent_dim": 8}


@pytest.fixture(scope="module")
def tiny_data():
    import numpy as np

    rng = np.random.default_rng(0)
    return {"images": rng.integers(0, 256, (64, 28, 28, 1), dtype=np.uint8), "labels": (np.arange(64) % 2).reshape(64, 1)}


def _cfg(out, **kw):
    from medganbench.train import TrainConfig

    base = dict(model="dcgan", steps=2, batch_size=16, out=str(out), log_every=1, sample_every=0,
                checkpoint_every=2, progress=False, ema_decay=0.0)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("flag, value", [("--checkpoint-every", "-5"), ("--sample-every", "-1"), ("--steps", "0")])
def test_bad_train_options_fail_before_any_work(tmp_path, capsys, flag, value):
    from medganbench.cli import main

    out = tmp_path / "new" / "run"
    assert main(["train", flag, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and flag in err and value in err
    assert not (tmp_path / "new").exists()  # no empty folder, no lock left behind


def test_an_unwritable_out_fails_first_and_leaves_nothing(tmp_path, capsys):
    from medganbench.cli import main

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["train", "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(blocker) in err and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_second_training_on_the_same_out_is_refused(tmp_path):
    from medganbench.runlock import RunLocked
    from medganbench.train import run_training

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")  # the live run's files
    proc = _holder_process(run_dir, tmp_path)  # a live run holds the folder
    try:
        for kw in ({}, {"overwrite": True}, {"resume": True}):
            with pytest.raises(RunLocked, match=f"pid {proc.pid}"):
                run_training(_cfg(run_dir, **kw), TINY)
        assert (run_dir / "config.json").read_text() == "{}"  # --overwrite deleted nothing
    finally:
        proc.kill()
        proc.wait()


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(tmp_path, tiny_data, capsys):
    from medganbench.cli import main
    from medganbench.train import run_training

    run_dir = tmp_path / "run"
    run_training(_cfg(run_dir), TINY, dataset=tiny_data)
    # The kill: after the final checkpoint, before generator.keras and run.json were written.
    (run_dir / "generator.keras").unlink()
    (run_dir / "run.json").unlink()
    assert list((run_dir / "checkpoints").iterdir())
    samples = tmp_path / "s.npz"
    assert main(["sample", "--run", str(run_dir), "--n", "4", "--out", str(samples)]) == 2
    assert "--resume" in capsys.readouterr().err
    result = run_training(_cfg(run_dir, resume=True), TINY, dataset=tiny_data)  # must finish it, not return early
    assert (result / "run.json").is_file() and (result / "generator.keras").is_file()
    assert main(["sample", "--run", str(run_dir), "--n", "4", "--out", str(samples)]) == 0  # no loop back to --resume
    assert samples.is_file()
    # Only the generator lost (run.json kept): the same advice, and it works too.
    (run_dir / "generator.keras").unlink()
    assert main(["sample", "--run", str(run_dir), "--n", "4", "--out", str(samples)]) == 2
    assert "--resume" in capsys.readouterr().err
    run_training(_cfg(run_dir, resume=True), TINY, dataset=tiny_data)
    assert (run_dir / "generator.keras").is_file()
