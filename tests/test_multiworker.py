"""``--distribute multiworker``: two worker processes on 127.0.0.1 train one run; only the chief writes it,
and both resume from the chief's checkpoint."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

REPO = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import json, sys
    from medganbench.data.phantoms import load_phantoms
    from medganbench.train import TrainConfig, run_training
    out, steps, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    ds = load_phantoms("train", n=64)
    cfg = TrainConfig(model="dcgan", steps=steps, batch_size=16, out=out, resume=resume, log_every=1,
                      sample_every=0, checkpoint_every=2, progress=False, ema_decay=0.9, distribute="multiworker")
    result = run_training(cfg, {"base_filters": 8, "latent_dim": 8},
                          dataset={"images": ds.images, "labels": ds.labels})
    t = result.trainer
    print(json.dumps({"step": int(t.step.numpy()), "replicas": int(t.strategy.num_replicas_in_sync),
                      "wrote": str(t.run.path), "wrote_exists": t.run.path.exists()}))
""")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _run_cluster(out: Path, steps: int, resume: bool, timeout: float = 240) -> list[dict]:
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for i in range(2):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
               "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(out), str(steps), "1" if resume else "0"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        for i, p in enumerate(procs):
            so, se = p.communicate(timeout=timeout)
            assert p.returncode == 0, f"worker {i} failed:\n{se[-3000:]}"
            outs.append(json.loads(so.strip().splitlines()[-1]))
    finally:
        for p in procs:  # one worker failing leaves the other waiting in the collective: end it
            if p.poll() is None:
                p.kill()
                p.wait()
    return outs


@pytest.mark.slow
def test_two_workers_train_one_run_and_resume_it(tmp_path):
    run = tmp_path / "mw"
    first = _run_cluster(run, 4, resume=False)
    assert [o["replicas"] for o in first] == [2, 2] and [o["step"] for o in first] == [4, 4]
    # the chief (worker 0) wrote the run folder; worker 1 wrote to a scratch folder it then deleted
    assert first[0]["wrote"] == str(run) and first[1]["wrote"] != str(run) and not first[1]["wrote_exists"]
    info = json.loads((run / "run.json").read_text())
    assert info["replicas"] == 2 and info["step"] == 4
    # both resume from the chief's checkpoint; the log is the chief's alone (one row per step)
    second = _run_cluster(run, 6, resume=True)
    assert [o["step"] for o in second] == [6, 6]
    with open(run / "log.csv", newline="") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [1, 2, 3, 4, 5, 6]
    assert json.loads((run / "run.json").read_text())["step"] == 6
