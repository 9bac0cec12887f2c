"""The Trainer: artefacts, exact resume, crash-safe checkpoints, determinism, distribution, quality floor."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.train import TrainConfig, Trainer, list_checkpoints, run_training

REPO = Path(__file__).resolve().parents[1]
TINY = {"base_filters": 8, "latent_dim": 8}


@pytest.fixture(scope="module")
def train_subset():
    """256 procedural phantoms (uint8 (N,28,28,1), two classes, labels (N,1)): what the Trainer's
    bookkeeping (artefacts, resume, crash safety, seeds) is tested on, instantly and without a download.
    Learning on real X-rays is tested by the quality floor below."""
    from medganbench.data.phantoms import load_phantoms

    ds = load_phantoms("train", n=256)
    return {"images": ds.images, "labels": ds.labels}


def _cfg(tmp_path, name, **kw):
    base = dict(steps=6, batch_size=16, out=str(tmp_path / name), log_every=1, sample_every=3,
                checkpoint_every=3, progress=False, ema_decay=0.9)
    base.update(kw)
    return TrainConfig(**base)


def _log(run_dir):
    with open(Path(run_dir) / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_short_run_writes_every_artefact(tmp_path, train_subset):
    run = run_training(_cfg(tmp_path, "a", model="cdcgan"), TINY, dataset=train_subset)
    for name in ("config.json", "model.json", "run.json", "log.csv", "losses.png", "generator.keras"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "grids").glob("*.png")) == \
        ["step_000000.png", "step_000003.png", "step_000006.png"]
    assert [s for s, _ in list_checkpoints(run)] == [3, 6]
    assert list((run / "tb").iterdir()), "no TensorBoard events"
    rows = _log(run)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    for col in ("discriminator_loss", "generator_loss", "d_real", "d_fake", "generator_grad_norm",
                "discriminator_grad_norm", "images_per_sec"):
        assert col in rows[0], col
    assert all(np.isfinite(float(r["discriminator_loss"])) for r in rows)
    info = json.loads((run / "run.json").read_text())
    assert info["conditional"] and info["num_classes"] == 2 and info["step"] == 6
    assert info["class_counts"] == {str(k): int(v) for k, v in
                                    zip(*np.unique(train_subset["labels"], return_counts=True))}
    # keep_checkpoints: a longer run keeps only the last k
    run2 = run_training(_cfg(tmp_path, "b", steps=12, keep_checkpoints=2), TINY, dataset=train_subset)
    assert [s for s, _ in list_checkpoints(run2)] == [9, 12]


def test_existing_run_folder_is_not_overwritten_silently(tmp_path, train_subset):
    cfg = _cfg(tmp_path, "x", steps=2)
    run_training(cfg, TINY, dataset=train_subset)
    with pytest.raises(MedGanBenchError, match="already exists"):
        run_training(cfg, TINY, dataset=train_subset)
    with pytest.raises(ConfigError, match="latent_dim"):
        run_training(_cfg(tmp_path, "x", steps=4, resume=True), {"latent_dim": 9}, dataset=train_subset)


def test_resume_equals_uninterrupted_run(tmp_path, train_subset):
    full = run_training(_cfg(tmp_path, "full"), TINY, dataset=train_subset)
    run_training(_cfg(tmp_path, "split", steps=3), TINY, dataset=train_subset)
    resumed = run_training(_cfg(tmp_path, "split", resume=True), TINY, dataset=train_subset)
    a, b = _log(full), _log(resumed)
    assert [r["step"] for r in b] == [r["step"] for r in a]
    for ra, rb in zip(a, b):
        for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
            assert float(ra[key]) == float(rb[key]), (ra["step"], key)
    with np.load(list_checkpoints(full)[-1][1]) as x, np.load(list_checkpoints(resumed)[-1][1]) as y:
        assert sorted(x.files) == sorted(y.files)
        for k in x.files:  # weights, optimizer state, EMA, RNG state and step: all identical
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


def test_half_written_checkpoint_never_replaces_a_good_one(tmp_path, train_subset, monkeypatch):
    import medganbench.checkpoint as checkpoint_mod
    from medganbench.io import sha256_file

    run = run_training(_cfg(tmp_path, "crash", steps=3), TINY, dataset=train_subset)
    (step, good), = list_checkpoints(run)[-1:]
    digest = sha256_file(good)

    real_savez = np.savez

    def crashing_savez(fh, **arrays):  # write part of the file, then "crash"
        real_savez(fh, **dict(list(arrays.items())[:2]))
        raise KeyboardInterrupt("power cut during save")

    monkeypatch.setattr(checkpoint_mod.np, "savez", crashing_savez)
    with pytest.raises(KeyboardInterrupt):
        run_training(_cfg(tmp_path, "crash", steps=6, checkpoint_every=1, resume=True), TINY, dataset=train_subset)
    monkeypatch.undo()
    assert [s for s, _ in list_checkpoints(run)] == [3] and sha256_file(good) == digest
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")], "temp file left behind"
    # a damaged checkpoint file (e.g. copied half) is skipped with a message, not trusted
    (run / "checkpoints" / "step_000005.npz").write_bytes(good.read_bytes()[:1000])
    resumed = run_training(_cfg(tmp_path, "crash", resume=True), TINY, dataset=train_subset)
    assert json.loads((resumed / "run.json").read_text())["step"] == 6


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path, train_subset, monkeypatch, capsys):
    from medganbench.callbacks import SampleGrids

    real_save = SampleGrids.save

    def ctrl_c_at_step_4(self, trainer, step):  # the user presses Ctrl-C while step 4's grid is drawn
        if step == 4:
            raise KeyboardInterrupt
        return real_save(self, trainer, step)

    monkeypatch.setattr(SampleGrids, "save", ctrl_c_at_step_4)
    kw = {"sample_every": 1, "checkpoint_every": 100}
    result = run_training(_cfg(tmp_path, "ctrlc", **kw), TINY, dataset=train_subset)  # returns, no traceback
    monkeypatch.undo()
    assert result.interrupted and result.trainer.interrupted
    run = result.run_dir
    assert "interrupted at step 4" in capsys.readouterr().err
    assert [s for s, _ in list_checkpoints(run)] == [4]
    assert not (run / "generator.keras").exists(), "an interrupted run must not look finished"
    resumed = run_training(_cfg(tmp_path, "ctrlc", resume=True, **kw), TINY, dataset=train_subset)
    assert json.loads((resumed / "run.json").read_text())["step"] == 6
    assert [int(r["step"]) for r in _log(resumed)] == [1, 2, 3, 4, 5, 6]


def test_same_seed_same_losses_other_seed_other_losses(tmp_path, train_subset):
    kw = dict(steps=3, sample_every=0, checkpoint_every=0)
    a = _log(run_training(_cfg(tmp_path, "s0a", **kw), TINY, dataset=train_subset))
    b = _log(run_training(_cfg(tmp_path, "s0b", **kw), TINY, dataset=train_subset))
    c = _log(run_training(_cfg(tmp_path, "s1", seed=1, **kw), TINY, dataset=train_subset))
    key = "discriminator_loss"
    assert [r[key] for r in a] == [r[key] for r in b]
    assert [r[key] for r in a] != [r[key] for r in c]


def test_steps_per_call_and_trainer_on_arrays(tmp_path, train_subset):
    from medganbench.models import build

    model = build("wgan-gp", (28, 28, 1), **TINY, n_critic=2)
    cfg = _cfg(tmp_path, "spc", steps=5, steps_per_call=2, ema_decay=0.0, checkpoint_every=0, sample_every=0)
    trainer = Trainer(model, {"images": train_subset["images"]}, cfg, tmp_path / "spc").fit()
    assert int(trainer.step.numpy()) == 5
    assert [int(r["step"]) for r in _log(tmp_path / "spc")] == [2, 4, 5]
    assert "gradient_penalty" in _log(tmp_path / "spc")[0]


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, medmnist_root):
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from medganbench.data import load_dataset
        from medganbench.train import TrainConfig, run_training
        ds = load_dataset("pneumoniamnist")
        data = {{"images": ds.images[:128], "labels": ds.labels[:128]}}
        cfg = TrainConfig(model="cdcgan", steps=4, batch_size=16, out={str(tmp_path / 'mirrored')!r},
                          distribute="mirrored", log_every=1, progress=False, ema_decay=0.9)
        run = run_training(cfg, {{"base_filters": 8, "latent_dim": 8}}, dataset=data)
        print(json.dumps(json.loads((run / "run.json").read_text())))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["replicas"] == 2 and info["step"] == 4
    rows = _log(tmp_path / "mirrored")
    assert len(rows) == 4 and all(np.isfinite(float(r["generator_loss"])) for r in rows)


@pytest.mark.slow
def test_quality_floor_default_dcgan_on_real_pneumoniamnist(tmp_path, medmnist_root):
    """Default DCGAN config, 400 steps of batch 64 (a fifth of the default 2000-step budget):
    sample mean/std of pixel intensities within 10% of the real training set, D not collapsed."""
    from medganbench.data import load_dataset
    from medganbench.samples import generate_samples

    cfg = TrainConfig(steps=400, out=str(tmp_path / "q"), progress=False, sample_every=0, checkpoint_every=0)
    run = run_training(cfg)
    real = load_dataset("pneumoniamnist").images.astype(np.float64)
    fake, _ = generate_samples(run, 1000, seed=0)
    fake = fake.astype(np.float64)
    assert abs(fake.mean() - real.mean()) / real.mean() < 0.10, (fake.mean(), real.mean())
    assert abs(fake.std() - real.std()) / real.std() < 0.10, (fake.std(), real.std())
    rows = _log(run)
    late = rows[len(rows) // 2:]
    d_loss = np.array([float(r["discriminator_loss"]) for r in late])
    d_fake = np.array([float(r["d_fake"]) for r in late])
    assert np.isfinite(d_loss).all() and (d_loss > 0.05).all() and (d_loss < 3.0).all(), d_loss
    assert (d_fake > 0.01).all(), "discriminator rejects every fake: training collapsed"
