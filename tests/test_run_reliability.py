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
