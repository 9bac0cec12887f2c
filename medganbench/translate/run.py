"""Train a translation model on a task, and evaluate runs against the classical baselines.

Python API (the CLI ``medganbench translate train|eval`` calls exactly these)::

    from medganbench.translate.run import TranslateConfig, train_translation
    from medganbench.translate.evaluate import evaluate_translation
    train_translation(TranslateConfig(task="denoise-mr", model="pix2pix", steps=2000, seed=0), "runs/dn0")
    evaluate_translation(["runs/dn0", "runs/dn1"], "runs/dn-eval")   # -> dict, writes result.json

Evaluation lives in :mod:`medganbench.translate.evaluate`, which reads runs through :func:`load_run`;
this module never imports it (no import cycle).

Training uses the kit's :class:`~medganbench.train.Trainer` (the one every GAN uses). A run folder
holds ``translate.json`` (the :class:`TranslateConfig`), ``config.json`` (the Trainer's config),
``model.json`` (the model's config), ``checkpoints/`` (atomic; networks, optimizers, RNG, step),
``log.csv`` (losses every ``log_every`` steps), ``grids/`` (input | output | target on val images),
``losses.png``, ``run.json`` and ``state.json`` (step, wall time, val L1 before and after).
Training resumes exactly when the folder already holds a shorter run with the same config.
Notebook 07 walks through it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medganbench.config import from_dict, load_config, save_config, to_dict
from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.imageconv import to_float
from medganbench.io import atomic_write_text
from medganbench.runfolder import RunFolder


@dataclass
class TranslateConfig:
    task: str = field(default="denoise-mr", metadata={
        "help": "denoise-mr, denoise-xray, superres-mr or pneumonia-to-normal"})
    model: str = field(default="", metadata={"help": "pix2pix or cyclegan (default: the task's model)"})
    steps: int = field(default=2000, metadata={"help": "training steps (one batch each)"})
    batch_size: int = field(default=16, metadata={"help": "images per step"})
    seed: int = field(default=0, metadata={"help": "seed of weights, batches and training noise"})
    size: int | None = field(default=None, metadata={"help": "image side: 64 or 128 for MR tasks, 28 for X-ray"})
    train_limit: int | None = field(default=None, metadata={"help": "use only this many training images"})
    log_every: int = field(default=50, metadata={"help": "steps between log lines"})
    checkpoint_every: int = field(default=500, metadata={"help": "steps between checkpoints (and the last step)"})


def _model_class(name: str):
    from medganbench.registry import MODELS

    info = MODELS.info(name)
    if info.get("task") != "translation":
        raise ConfigError(f"Model {name!r} is not a translation model; use pix2pix or cyclegan.")
    return MODELS.get(name)


def resolve(cfg: TranslateConfig) -> TranslateConfig:
    """Fill the defaults that depend on the task (model, size) and check the combination."""
    from medganbench.translate.tasks import get_task

    task = get_task(cfg.task)
    model = cfg.model or task.default_model
    cls = _model_class(model)
    if cls.paired != task.paired:
        kind = "paired" if task.paired else "unpaired"
        raise ConfigError(f"Task {task.name!r} is {kind}; model {model!r} is not. "
                          f"Use --model {task.default_model}.")
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.log_every < 1:
        raise ConfigError(f"steps, batch_size and log_every must be >= 1 (got {cfg.steps}, {cfg.batch_size}, "
                          f"{cfg.log_every}).")
    return dataclasses.replace(cfg, model=model, size=cfg.size or task.default_size)


def build_model(cfg: TranslateConfig, model_config: dict | None = None):
    """The (untrained) model of a resolved config; ``model_config`` overrides its config fields."""
    from medganbench.runtime import configure_tensorflow

    cls = _model_class(cfg.model)
    mcfg = from_dict(cls.config_class, {"seed": cfg.seed, **(model_config or {})})
    configure_tensorflow()
    return cls((cfg.size, cfg.size, 1), 0, mcfg)


def load_run(run_dir: str | Path):
    """(config, model with the newest checkpoint's weights, state dict) of a finished or interrupted run."""
    run_dir = Path(run_dir)
    if not (run_dir / "translate.json").is_file():
        raise MedGanBenchError(f"{run_dir} is not a translation run (no translate.json); "
                               "create one with `medganbench translate train`.")
    cfg = load_config(TranslateConfig, run_dir / "translate.json")
    model = build_model(cfg, RunFolder(run_dir).model_config_dict())
    model.restore_weights(run_dir)
    state = json.loads((run_dir / "state.json").read_text())
    return cfg, model, state


def training_arrays(train, seed: int) -> dict[str, np.ndarray]:
    """The Trainer's equal-length arrays ``{"inputs", "targets"}`` (uint8).

    Paired: row ``i`` of both. Unpaired: the smaller domain is repeated in a seeded random order up
    to the size of the larger one; the Trainer shuffles rows each epoch, and no correspondence
    between the two images of a row is assumed by CycleGAN.
    """
    a, b = train.inputs, train.targets
    if train.paired:
        return {"inputs": a, "targets": b}
    rng = np.random.default_rng([seed, 7])
    n = max(len(a), len(b))
    ia = np.resize(rng.permutation(len(a)), n)
    ib = np.resize(rng.permutation(len(b)), n)
    return {"inputs": a[ia], "targets": b[ib]}


def train_translation(cfg: TranslateConfig, out: str | Path, *, dicom=None, data_root=None,
                      model_config: dict | None = None, progress: bool = True) -> dict:
    """Train ``cfg.model`` on ``cfg.task``'s training pairs with the kit's Trainer; return the run's state.

    Writes the run folder ``out`` (see the module docstring); the Trainer writes ``checkpoints/``,
    ``log.csv``, ``grids/`` (input | output | target on val images), ``losses.png`` and ``run.json``.
    The L1 error on (up to 64) val images is measured before and after and kept in ``state.json``.
    Running again on the same folder with more ``steps`` resumes exactly from the last checkpoint.
    """
    from medganbench.train import TrainConfig, Trainer
    from medganbench.translate.tasks import build_pairs

    cfg = resolve(cfg)
    out = Path(out)
    resuming = (out / "state.json").is_file()
    if resuming:
        old = load_config(TranslateConfig, out / "translate.json")
        if dataclasses.replace(old, steps=cfg.steps) != cfg:
            raise MedGanBenchError(f"{out} holds a run with a different config; choose another --out.")
        model_config = {**RunFolder(out).model_config_dict(), **(model_config or {})}
    train = build_pairs(cfg.task, "train", size=cfg.size, seed=cfg.seed, dicom=dicom, data_root=data_root,
                        limit=cfg.train_limit)
    val = build_pairs(cfg.task, "val", size=cfg.size, dicom=dicom, data_root=data_root, limit=64)
    arrays = training_arrays(train, cfg.seed)
    bs = min(cfg.batch_size, len(arrays["inputs"]))
    model = build_model(cfg, model_config)
    grid_n = int(min(8, len(val)))
    grid_inputs = model.grid_inputs(grid_n, cfg.seed, inputs=val.inputs[:8],
                                    targets=val.targets[:8] if val.paired else None)
    tcfg = TrainConfig(model=cfg.model, dataset=cfg.task, size=int(cfg.size), steps=cfg.steps, batch_size=bs,
                       seed=cfg.seed, out=str(out), resume=resuming, log_every=cfg.log_every,
                       sample_every=max(cfg.steps // 4, 100), checkpoint_every=cfg.checkpoint_every,
                       ema_decay=0.0, grid_size=grid_n, progress=progress)
    val_a, val_b = to_float(val.inputs), to_float(val.targets)

    def val_l1() -> float:
        if train.paired:
            return float(np.mean(np.abs(model.translate(val_a) - val_b)))
        return float(np.mean(np.abs(model.reconstruct(val_a) - val_a)))

    run = RunFolder(out)
    trainer = Trainer(model, arrays, tcfg, run, grid_inputs=grid_inputs)
    out.mkdir(parents=True, exist_ok=True)
    state = json.loads((out / "state.json").read_text()) if resuming else {}
    if resuming:
        trainer.restore_latest()
    else:
        state = {"val_l1_initial": val_l1(), "wall_time_s": 0.0}
    save_config(cfg, out / "translate.json")
    run.write_config(tcfg)
    run.write_model_config(model.config)
    t0 = time.perf_counter()
    trainer.fit()
    step = int(trainer.step.numpy())
    state.update({"step": step, "steps": cfg.steps, "batch_size": bs, "images_seen": step * bs,
                  "wall_time_s": round(float(state.get("wall_time_s", 0.0)) + time.perf_counter() - t0, 3),
                  "n_train": len(train.inputs), "n_train_targets": len(train.targets),
                  "val_l1": val_l1(), "interrupted": bool(trainer.interrupted)})
    atomic_write_text(out / "state.json", json.dumps(state, indent=2))
    if trainer.interrupted:
        raise KeyboardInterrupt
    return state


def read_log(run_dir: str | Path) -> list[dict]:
    """The Trainer's log rows of a run (dicts of floats: ``step``, losses, ``l1`` or ``cycle_loss``, ...)."""
    import csv

    path = RunFolder(run_dir).log_file
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: float(v) if v not in ("", None) else None for k, v in row.items()} for row in csv.DictReader(fh)]


__all__ = [
    "TranslateConfig",
    "build_model",
    "load_run",
    "read_log",
    "resolve",
    "to_dict",
    "train_translation",
]
