"""Train a translation model on a task, and evaluate runs against the classical baselines.

Python API (the CLI ``medganbench translate train|eval`` calls exactly these)::

    from medganbench.translate.run import TranslateConfig, train_translation, evaluate_translation
    train_translation(TranslateConfig(task="denoise-mr", model="pix2pix", steps=2000, seed=0), "runs/dn0")
    evaluate_translation(["runs/dn0", "runs/dn1"], "runs/dn-eval")   # -> dict, writes result.json

A run folder holds ``config.json`` (the :class:`TranslateConfig`), ``model_config.json``,
``checkpoint/`` (networks + optimizers), ``state.json`` (last finished step, wall time),
``log.jsonl`` (losses and val L1 every ``log_every`` steps) and ``grid.png`` (input | output |
target on val images). Training resumes from ``checkpoint/`` when the folder already holds a
shorter run with the same config. Notebook 07 walks through it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from medganbench.config import from_dict, load_config, save_config, to_dict
from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.io import atomic_write_text


@dataclass
class TranslateConfig:
    task: str = field(default="denoise-mr", metadata={
        "help": "denoise-mr, denoise-xray, superres-mr or pneumonia-to-normal"})
    model: str = field(default="", metadata={"help": "pix2pix or cyclegan (default: the task's model)"})
    steps: int = field(default=2000, metadata={"help": "training steps (one batch each)"})
    batch_size: int = field(default=16, metadata={"help": "images per step"})
    seed: int = field(default=0, metadata={"help": "seed of weights, batches and training noise"})
    size: Optional[int] = field(default=None, metadata={"help": "image side: 64 or 128 for MR tasks, 28 for X-ray"})
    train_limit: Optional[int] = field(default=None, metadata={"help": "use only this many training images"})
    log_every: int = field(default=50, metadata={"help": "steps between log lines and checkpoints"})


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
    if cfg.steps < 0 or cfg.batch_size < 1:
        raise ConfigError(f"steps must be >= 0 and batch_size >= 1 (got {cfg.steps}, {cfg.batch_size}).")
    return dataclasses.replace(cfg, model=model, size=cfg.size or task.default_size)


def _unit_to_model(u8: np.ndarray) -> np.ndarray:
    return u8.astype(np.float32) / 127.5 - 1.0


def build_model(cfg: TranslateConfig, model_config: dict | None = None):
    """The (untrained) model of a resolved config; ``model_config`` overrides its config fields."""
    cls = _model_class(cfg.model)
    mcfg = from_dict(cls.config_class, model_config or {})
    return cls(mcfg, image_shape=(cfg.size, cfg.size, 1), seed=cfg.seed)


def load_run(run_dir: str | Path):
    """(config, model with restored weights, state dict) of a finished or interrupted run."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise MedGanBenchError(f"{run_dir} is not a translation run (no config.json); "
                               "create one with `medganbench translate train`.")
    cfg = load_config(TranslateConfig, run_dir / "config.json")
    mcfg = json.loads((run_dir / "model_config.json").read_text())
    mcfg.pop("type", None)
    model = build_model(cfg, mcfg)
    model.restore(run_dir / "checkpoint")
    state = json.loads((run_dir / "state.json").read_text())
    return cfg, model, state


def train_translation(cfg: TranslateConfig, out: str | Path, *, dicom=None, data_root=None,
                      model_config: dict | None = None, progress: bool = True) -> dict:
    """Train ``cfg.model`` on ``cfg.task``'s training pairs; write the run folder ``out``; return its state.

    Batches are drawn with replacement-free shuffles per epoch (paired) or independently from both
    domains (unpaired), seeded by ``cfg.seed``. Every ``log_every`` steps: a log line with the losses
    and the L1 error on (up to 64) val images, and a checkpoint (Ctrl-C keeps the last one).
    """
    from medganbench.translate.tasks import build_pairs

    cfg = resolve(cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(cfg, model_config)
    start, wall = 0, 0.0
    if (out / "state.json").is_file():
        old = load_config(TranslateConfig, out / "config.json")
        if dataclasses.replace(old, steps=cfg.steps) != cfg:
            raise MedGanBenchError(f"{out} holds a run with a different config; choose another --out.")
        state = json.loads((out / "state.json").read_text())
        model.restore(out / "checkpoint")
        start, wall = int(state["step"]), float(state["wall_time_s"])
    save_config(cfg, out / "config.json")
    save_config(model.config, out / "model_config.json")

    train = build_pairs(cfg.task, "train", size=cfg.size, seed=cfg.seed, dicom=dicom, data_root=data_root,
                        limit=cfg.train_limit)
    val = build_pairs(cfg.task, "val", size=cfg.size, dicom=dicom, data_root=data_root, limit=64)
    a, b = _unit_to_model(train.inputs), _unit_to_model(train.targets)
    val_a, val_b = _unit_to_model(val.inputs), _unit_to_model(val.targets)
    rng = np.random.default_rng([cfg.seed, start])
    bs = min(cfg.batch_size, len(a), len(b))

    def batch():
        ia = rng.integers(len(a), size=bs)
        ib = ia if train.paired else rng.integers(len(b), size=bs)
        return {"inputs": a[ia], "targets": b[ib]}

    def val_l1() -> float:
        if train.paired:
            return float(np.mean(np.abs(model.translate(val_a) - val_b)))
        return float(np.mean(np.abs(model.reconstruct(val_a) - val_a)))

    def checkpoint(step: int, losses: dict | None):
        model.save(out / "checkpoint")
        atomic_write_text(out / "state.json", json.dumps(
            {"step": step, "steps": cfg.steps, "wall_time_s": round(wall, 3), "images_seen": step * bs,
             "batch_size": bs, "n_train": int(len(a)), "n_train_targets": int(len(b)),
             "val_l1": val_l1(), "last_losses": losses}, indent=2))

    from tqdm.auto import tqdm

    bar = tqdm(range(start, cfg.steps), desc=f"{cfg.model} {cfg.task}", disable=not progress, initial=start,
               total=cfg.steps)
    losses = None
    step = start
    if start == 0:
        checkpoint(0, None)
        _log(out, {"step": 0, "val_l1": val_l1()})
    try:
        for step in bar:
            t0 = time.perf_counter()
            losses = model.train_step(batch())
            wall += time.perf_counter() - t0
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                checkpoint(done, losses)
                _log(out, {"step": done, **losses, "val_l1": json.loads((out / "state.json").read_text())["val_l1"]})
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items() if k in ("l1", "cycle_loss")})
    except KeyboardInterrupt:
        bar.close()
        raise
    _save_grid(model, val_a, val_b if train.paired else None, out / "grid.png")
    return json.loads((out / "state.json").read_text())


def _log(out: Path, record: dict) -> None:
    with open(out / "log.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _save_grid(model, inputs, targets, path: Path) -> None:
    from medganbench.translate.plots import save_png

    save_png(model.grid_images(inputs, targets, max_rows=6), path)


def read_log(run_dir: str | Path) -> list[dict]:
    """The run's log lines (dicts with ``step`` and losses / ``val_l1``)."""
    path = Path(run_dir) / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


# --- evaluation ----------------------------------------------------------------------------------

from medganbench.translate.evaluate import evaluate_translation  # noqa: E402,F401  (re-exported)

__all__ = ["TranslateConfig", "train_translation", "evaluate_translation", "load_run", "read_log", "resolve",
           "build_model", "to_dict"]
