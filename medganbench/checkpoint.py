"""The checkpoint file format: the ONLY module that writes or reads ``checkpoints/step_XXXXXX.npz``.

A checkpoint is one ``.npz`` (written atomically) holding named groups of arrays::

    net/<network>/<i:04d>   weights of each network (``model.networks``), in ``net.weights`` order
    opt/<network>/<i:04d>   optimizer state of each network's optimizer
    ema/<network>/<i:04d>   exponential moving average copies (when the run keeps them)
    rng/0000                the model's ``tf.random.Generator`` state
    step/0000               the step counter

Everything that saves or restores training state (the Trainer, resume, ``sample --raw``, loading a
translation run) goes through :func:`save`, :func:`restore`, :func:`restore_latest` or
:func:`load_networks`; nobody else parses these keys. ``groups`` arguments map a group name
(``"net/generator"``) to a list of variables (anything with ``.numpy()``, ``.shape`` and ``.assign``).
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_path

FOLDER = "checkpoints"
_NAME = re.compile(r"^step_(\d{6,})\.npz$")
#: What a damaged or foreign file raises while being read (reported and skipped by ``restore_latest``).
UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / FOLDER / f"step_{int(step):06d}.npz"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``[(step, path)]`` of complete checkpoints, oldest first (temporary files are ignored)."""
    folder = Path(run_dir) / FOLDER
    found = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = _NAME.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
    return sorted(found)


def save(run_dir: str | Path, step: int, groups: dict[str, list], keep: int | None = None) -> Path:
    """Write ``groups`` as ``checkpoints/step_XXXXXX.npz`` atomically; keep only the newest ``keep``.

    A crash or Ctrl-C during the write leaves the previous checkpoints untouched (no half file).
    """
    arrays = {}
    for group, variables in groups.items():
        for i, v in enumerate(variables):
            arrays[f"{group}/{i:04d}"] = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
    path = checkpoint_path(run_dir, step)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    if keep:
        for _, old in list_checkpoints(run_dir)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def _read(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def _group_keys(data: dict, group: str) -> list[str]:
    return sorted(k for k in data if k.rsplit("/", 1)[0] == group)


def _assign(path: Path, data: dict, groups: dict[str, list]) -> None:
    """Check every group's count and shapes first, then assign (a mismatch changes nothing)."""
    plan = []
    for group, variables in groups.items():
        keys = _group_keys(data, group)
        if len(keys) != len(variables):
            raise MedGanBenchError(f"{path}: {group} holds {len(keys)} arrays, the model has {len(variables)}; "
                                   f"the checkpoint belongs to a different model/config")
        for key, v in zip(keys, variables):
            if tuple(data[key].shape) != tuple(v.shape):
                raise MedGanBenchError(f"{path}: {key} has shape {data[key].shape}, expected {tuple(v.shape)}")
            plan.append((v, data[key]))
    for v, value in plan:
        v.assign(value)


def restore(path: str | Path, groups: dict[str, list]) -> None:
    """Load checkpoint ``path`` into ``groups`` (every group must be present with matching shapes)."""
    path = Path(path)
    _assign(path, _read(path), groups)


def restore_latest(run_dir: str | Path, groups: dict[str, list]) -> Path | None:
    """Restore the newest readable checkpoint of ``run_dir`` (a damaged one is reported and skipped).

    Returns the path restored, or None when the run folder holds no readable checkpoint.
    """
    for _step, path in reversed(list_checkpoints(run_dir)):
        try:
            restore(path, groups)
            return path
        except UNREADABLE as exc:
            print(f"medganbench: skipping unreadable checkpoint {path}: {exc}", file=sys.stderr)
    return None


def load_networks(run_dir: str | Path, networks: dict) -> int:
    """Load ``{name: keras.Model}`` weights (group ``net/<name>``) from the newest checkpoint; returns its step."""
    found = list_checkpoints(run_dir)
    if not found:
        raise MedGanBenchError(f"No checkpoint in {Path(run_dir) / FOLDER}; train the run first.")
    step, path = found[-1]
    restore(path, {f"net/{name}": net.weights for name, net in networks.items()})
    return step
