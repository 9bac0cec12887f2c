"""The run folder: where one training run keeps its files, and the only code that knows their names.

::

    <run>/config.json          the TrainConfig (medganbench.train)
    <run>/model.json           the model's config dataclass ({"type": ..., fields})
    <run>/run.json             written last when a run finishes: shapes, classes, class counts, parameter
                               counts, throughput (its presence means "finished")
    <run>/checkpoints/         step_XXXXXX.npz, read and written only by medganbench.checkpoint
    <run>/log.csv              one row per logged step (medganbench.callbacks.CSVLogger)
    <run>/tb/                  TensorBoard events
    <run>/grids/step_XXXXXX.png
    <run>/losses.png
    <run>/generator.keras      the final generator (the EMA one when kept)

Train, sample, translate and bench open a run with ``RunFolder(path)`` and use its methods; nobody
else builds these paths or parses these files. A ``RunFolder`` is path-like (``os.fspath``, ``/``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TypeVar

from medganbench import checkpoint
from medganbench.config import load_config, load_config_dict, save_config
from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_write_text

C = TypeVar("C")


class RunFolder:
    """One run's folder. ``RunFolder("runs/dcgan-0").model_config(DCGANConfig)``, ``.info()``, ..."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # --- path-like --------------------------------------------------------------------------
    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other) -> Path:
        return self.path / other

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # --- file names -------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def model_file(self) -> Path:
        return self.path / "model.json"

    @property
    def info_file(self) -> Path:
        return self.path / "run.json"

    @property
    def log_file(self) -> Path:
        return self.path / "log.csv"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    @property
    def losses_plot(self) -> Path:
        return self.path / "losses.png"

    @property
    def generator_file(self) -> Path:
        return self.path / "generator.keras"

    def grid_file(self, step: int) -> Path:
        return self.path / "grids" / f"step_{int(step):06d}.png"

    # --- lifecycle --------------------------------------------------------------------------
    def prepare(self, resume: bool, overwrite: bool) -> RunFolder:
        """Check the folder fits the request: resume needs a config; a new run needs an empty folder
        (``overwrite`` deletes an existing one). Raises :class:`MedGanBenchError` saying what to pass."""
        if resume:
            if not self.config_file.exists():
                raise MedGanBenchError(f"Nothing to resume in {self.path} (no config.json); drop --resume to start it.")
            return self
        if self.path.exists() and any(self.path.iterdir()):
            if not overwrite:
                raise MedGanBenchError(f"Run folder {self.path} already exists; pass --resume to continue it, "
                                       f"--overwrite to replace it, or choose another --out.")
            shutil.rmtree(self.path)
        return self

    def is_finished(self) -> bool:
        return self.info_file.is_file()

    # --- configs ----------------------------------------------------------------------------
    def write_config(self, cfg) -> Path:
        return save_config(cfg, self.config_file)

    def config(self, cls: type[C]) -> C:
        return load_config(cls, self.config_file)

    def config_dict(self) -> dict:
        return load_config_dict(self.config_file)

    def write_model_config(self, cfg) -> Path:
        return save_config(cfg, self.model_file)

    def model_config(self, cls: type[C]) -> C:
        return load_config(cls, self.model_file)

    def model_config_dict(self) -> dict:
        """``model.json`` as a plain dict of fields (without its ``type`` tag); ``{}`` when absent."""
        return load_config_dict(self.model_file) if self.model_file.is_file() else {}

    # --- run.json ---------------------------------------------------------------------------
    def write_info(self, info: dict) -> Path:
        return atomic_write_text(self.info_file, json.dumps(info, indent=2))

    def info(self) -> dict:
        """``run.json``; a run without one gets a one-line error saying how to finish it."""
        if not self.info_file.is_file():
            raise MedGanBenchError(f"{self.path} is not a finished run folder (no run.json); train it first "
                                   f"or finish it with `medganbench train --out {self.path} --resume`.")
        return json.loads(self.info_file.read_text())

    # --- checkpoints (the format itself lives in medganbench.checkpoint) ----------------------
    def checkpoints(self) -> list[tuple[int, Path]]:
        return checkpoint.list_checkpoints(self.path)

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        found = self.checkpoints()
        return found[-1] if found else None
