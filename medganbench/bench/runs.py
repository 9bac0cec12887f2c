"""Training and sampling the generator of a benchmark run, reusing a finished run with the same settings.

A benchmark that crashed or was interrupted during evaluation restarts without retraining: a run folder
holding a finished run made with the same :class:`~medganbench.train.TrainConfig` (and, for a run on a
subset, the same subset) is reused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from medganbench.io import atomic_write_text

#: Written beside a benchmark's training run: wall time and, for a subset run, which images it saw.
BENCH_RECORD = "bench_wall_time.json"


def finished_run_matches(run_dir: Path, tcfg, model_overrides: dict | None = None) -> bool:
    """True when ``run_dir`` holds a finished training run made with the same settings (progress aside)
    and, when ``model_overrides`` are given (``--set``), the same values of those model settings."""
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return False
    want = {k: v for k, v in dataclasses.asdict(tcfg).items() if k not in ("progress", "overwrite")}
    same = all(saved.get(k) == v for k, v in want.items())
    if same and model_overrides:
        try:
            model_cfg = json.loads((run_dir / "model.json").read_text())
        except (OSError, ValueError):
            return False
        same = all(model_cfg.get(k) == v for k, v in model_overrides.items())
    return same and int(info.get("step", -1)) == tcfg.steps and (run_dir / "generator.keras").is_file()


def train_generator(tcfg, *, dataset=None, subset: str | None = None, model_overrides: dict | None = None) -> dict:
    """Train with the kit's Trainer (or reuse a finished run with the same settings).

    tcfg: a :class:`~medganbench.train.TrainConfig` (``out`` is the run folder). dataset: optional in-memory
    training set (a subset of the split); ``subset`` names it (e.g. a hash of its indices) so a run on another
    subset is never reused. model_overrides: model config keys (``--set``). Returns ``{run_dir, steps, wall_time_s, config, parameter_count, conditional,
    images_per_sec}``.
    """
    from medganbench.models.base import grouped_parameter_count
    from medganbench.runfolder import RunFolder
    from medganbench.train import run_training

    run_dir = Path(tcfg.out)
    record = run_dir / BENCH_RECORD
    saved = None
    if finished_run_matches(run_dir, tcfg, model_overrides) and record.is_file():
        try:
            saved = json.loads(record.read_text())
        except ValueError:
            saved = None
    if saved is not None and saved.get("subset") == subset:
        run, wall = run_dir, float(saved["wall_time_s"])
    else:
        t0 = time.perf_counter()
        run = Path(run_training(tcfg, model_overrides, dataset=dataset).run_dir)
        wall = time.perf_counter() - t0
        atomic_write_text(record, json.dumps({"wall_time_s": round(wall, 2), "subset": subset}))
    folder = RunFolder(run)
    info = folder.info()
    model_cfg = folder.model_config_dict() or None
    pc = grouped_parameter_count(info.get("parameter_counts") or {})
    return {"run_dir": run, "steps": int(info.get("step", tcfg.steps)), "wall_time_s": round(wall, 2),
            "config": {"train": dataclasses.asdict(tcfg), "model": model_cfg}, "parameter_count": pc,
            "conditional": bool(info.get("conditional")), "images_per_sec": info.get("images_per_sec")}


class SubsetGenerator:
    """``synthesize`` for the augmentation study: train the model on ONE regime's labelled subset, then sample.

    Called by :func:`medganbench.metrics.augmentation.augmentation_gain` once per regime and seed with that
    subset only, so the generator sees exactly the labels the regime allows (a copier can only copy them).
    Each run lives in ``out/n<subset size>-seed<seed>`` and is reused when an interrupted benchmark restarts.
    ``trained`` records ``{seed, n, subset_sha256, run_dir, steps, wall_time_s}`` per call.
    """

    def __init__(self, model: str, dataset: str, size: int, *, steps: int, batch_size: int, out: str | Path,
                 num_classes: int, progress: bool = False, model_overrides: dict | None = None):
        self.model, self.dataset, self.size = model, dataset, int(size)
        self.model_overrides = dict(model_overrides or {})
        self.steps, self.batch_size, self.out = int(steps), int(batch_size), Path(out)
        self.num_classes, self.progress = int(num_classes), progress
        self.trained: list[dict] = []

    def identity(self) -> dict:
        """What the generators it trains depend on (a finished study is reused only when this is equal)."""
        return {"model": self.model, "dataset": self.dataset, "size": self.size, "steps": self.steps,
                "batch_size": self.batch_size, "num_classes": self.num_classes,
                **({"model_overrides": self.model_overrides} if self.model_overrides else {})}

    def __call__(self, images: np.ndarray, labels: np.ndarray, wanted: np.ndarray, seed: int) -> np.ndarray:
        """images ``uint8 (n, H, W, C)``, labels ``(n,)``, wanted class ids ``(m,)`` -> ``uint8 (m, H, W, C)``."""
        import hashlib
        from types import SimpleNamespace

        from medganbench.samples import generate_samples
        from medganbench.train import TrainConfig

        labels = np.asarray(labels).reshape(-1, 1).astype(np.int64)
        digest = hashlib.sha256(np.ascontiguousarray(images).tobytes() + labels.tobytes()).hexdigest()
        tcfg = TrainConfig(model=self.model, dataset=self.dataset, size=self.size, split="train", steps=self.steps,
                           batch_size=min(self.batch_size, len(images)), seed=int(seed),
                           out=str(self.out / f"n{len(images)}-seed{seed}"), overwrite=True, progress=self.progress,
                           sample_every=0, checkpoint_every=0)
        subset = SimpleNamespace(images=images, labels=labels, card={"num_classes": self.num_classes})
        run = train_generator(tcfg, dataset=subset, subset=digest, model_overrides=self.model_overrides)
        fake, _ = generate_samples(run["run_dir"], len(wanted), labels=np.asarray(wanted), seed=int(seed))
        self.trained.append({"seed": int(seed), "n": len(images), "subset_sha256": digest,
                             "run_dir": str(run["run_dir"]), "steps": run["steps"],
                             "wall_time_s": run["wall_time_s"]})
        return fake


STUDY_FILE = "study.json"


def save_study(folder: str | Path, key: dict, values: dict, trained: list[dict]) -> Path:
    """Keep a finished augmentation study: its settings ``key``, its values and the generators it trained."""
    runs = [{**t, "generator_sha256": _generator_digest(t["run_dir"])} for t in trained]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(folder / STUDY_FILE, json.dumps({"key": key, "values": values, "trained": runs},
                                                             indent=1, default=float))


def load_study(folder: str | Path, key: dict) -> tuple[dict, list[dict]] | None:
    """(values, trained) of a finished study with the same settings whose generators are all still there,
    byte for byte; None otherwise (the study then runs again)."""
    path = Path(folder) / STUDY_FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if json.dumps(saved.get("key"), sort_keys=True) != json.dumps(json.loads(json.dumps(key, default=float)),
                                                                  sort_keys=True):
        return None
    trained = saved.get("trained") or []
    if not trained or any(_generator_digest(t.get("run_dir", "")) != t.get("generator_sha256") for t in trained):
        return None
    return saved.get("values"), trained


def _generator_digest(run_dir) -> str | None:
    from medganbench.io import sha256_file

    path = Path(run_dir) / "generator.keras"
    return sha256_file(path) if path.is_file() else None
