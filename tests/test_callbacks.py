"""The Trainer's callback hooks, the run folder and the checkpoint module, on instant phantoms."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from medganbench import checkpoint
from medganbench.callbacks import Callback, crossed
from medganbench.runfolder import RunFolder
from medganbench.train import TrainConfig, TrainResult, run_training

TINY = {"base_filters": 8, "latent_dim": 8}


@pytest.fixture(scope="module")
def phantoms():
    from medganbench.data.phantoms import load_phantoms

    ds = load_phantoms("train", n=96)
    return {"images": ds.images, "labels": ds.labels}


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, trainer):
        self.events.append(("begin", trainer.start_step))

    def on_step_end(self, trainer, step, logs):
        self.events.append(("step", step, sorted(logs), crossed(trainer, 2)))

    def on_checkpoint(self, trainer, step, path):
        self.events.append(("checkpoint", step, path.name))

    def on_train_end(self, trainer):
        self.events.append(("end", trainer.finished, trainer.interrupted))


def test_hooks_run_in_order_with_logs_on_logged_steps(tmp_path, phantoms):
    rec = Recorder()
    cfg = TrainConfig(model="dcgan", steps=4, batch_size=16, log_every=2, sample_every=0, checkpoint_every=3,
                      progress=False, ema_decay=0.9, out=str(tmp_path / "r"))
    result = run_training(cfg, TINY, dataset=phantoms, callbacks=[rec])
    assert isinstance(result, TrainResult) and not result.interrupted and result.trainer.finished
    kinds = [e[0] for e in rec.events]
    # callbacks run in list order: the default Checkpoints callback saves step 3 before ours sees step 3
    assert kinds == ["begin", "step", "step", "checkpoint", "step", "step", "checkpoint", "end"], rec.events
    steps = [e for e in rec.events if e[0] == "step"]
    assert [s[1] for s in steps] == [1, 2, 3, 4]
    assert [bool(s[2]) for s in steps] == [False, True, False, True]  # floats only on logged steps
    assert "images_per_sec" in steps[1][2] and "generator_loss" in steps[1][2]
    assert [s[3] for s in steps] == [False, True, False, True]  # crossed(trainer, 2)
    assert rec.events[-1] == ("end", True, False)
    # the run folder reads back what the Trainer wrote; the checkpoint holds the EMA copies
    run = RunFolder(result)
    assert run.info()["step"] == 4 and run.config(TrainConfig) == cfg
    assert run.model_config_dict()["latent_dim"] == 8 and run.latest_checkpoint()[0] == 4
    with np.load(run.latest_checkpoint()[1]) as npz:
        assert any(k.startswith("ema/generator/") for k in npz.files)
    # the CSV header is written once
    lines = run.log_file.read_text().splitlines()
    assert lines[0].startswith("step,") and [ln.split(",")[0] for ln in lines[1:]] == ["2", "4"]


def test_grid_inputs_are_given_not_set_on_the_model(tmp_path, phantoms):
    from medganbench.models import build
    from medganbench.train import Trainer

    model = build("pix2pix", (28, 28, 1), base_filters=8)
    data = {"inputs": phantoms["images"], "targets": phantoms["images"]}
    val = phantoms["images"][:4]
    grid = model.grid_inputs(4, 0, inputs=val, targets=val)
    cfg = TrainConfig(model="pix2pix", steps=1, batch_size=8, sample_every=0, checkpoint_every=0,
                      progress=False, ema_decay=0.0, grid_size=4)
    trainer = Trainer(model, data, cfg, tmp_path / "t", grid_inputs=grid).fit()
    assert trainer.finished and (tmp_path / "t" / "grids" / "step_000001.png").is_file()
    np.testing.assert_array_equal(grid["inputs"], val.astype(np.float32) / 127.5 - 1.0)
    assert not hasattr(model, "grid_source")
    # the translation model reads its networks back through the checkpoint module
    again = build("pix2pix", (28, 28, 1), base_filters=8)
    assert again.restore_weights(tmp_path / "t") == 1
    for a, b in zip(again.generator.weights, model.generator.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_module_refuses_a_foreign_checkpoint_and_changes_nothing(tmp_path):
    import tensorflow as tf

    a = [tf.Variable(np.ones((2, 3), np.float32)), tf.Variable(np.zeros(4, np.float32))]
    path = checkpoint.save(tmp_path, 7, {"net/g": a})
    assert checkpoint.list_checkpoints(tmp_path) == [(7, path)]
    b = [tf.Variable(np.full((2, 3), 5, np.float32)), tf.Variable(np.full(5, 5, np.float32))]
    with pytest.raises(Exception, match="net/g/0001 has shape"):
        checkpoint.restore(path, {"net/g": b})
    assert float(b[0].numpy()[0, 0]) == 5.0, "a failed restore must not assign half the variables"
    for step in (8, 9):
        checkpoint.save(tmp_path, step, {"net/g": a}, keep=2)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [8, 9]
