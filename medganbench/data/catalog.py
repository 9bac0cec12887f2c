"""MedMNIST's own catalogue (``medmnist.INFO``), read without importing the medmnist package.

``import medmnist`` imports torch (and its ``download()`` imports torchvision), which crashes a
process that already imported TensorFlow. The catalogue itself lives in ``medmnist/info.py``,
a file with no heavy imports, so we execute just that file. File names, URLs and MD5 sums
therefore always match the installed medmnist release.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from types import ModuleType

from medganbench.errors import MedGanBenchError

SIZES = (28, 64, 128, 224)

TASK_KINDS = {
    "binary-class": "binary",
    "multi-class": "multi-class",
    "multi-label, binary-class": "multi-label",
    "ordinal-regression": "ordinal",
}


@functools.lru_cache(maxsize=1)
def _info_module() -> ModuleType:
    spec = importlib.util.find_spec("medmnist")
    if spec is None or not spec.submodule_search_locations:
        raise MedGanBenchError("The medmnist package is not installed: pip install medmnist")
    path = Path(list(spec.submodule_search_locations)[0]) / "info.py"
    info_spec = importlib.util.spec_from_file_location("_medganbench_medmnist_info", path)
    module = importlib.util.module_from_spec(info_spec)
    info_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def info() -> dict:
    """``medmnist.INFO``: flag -> dict (python_class, label, n_channels, n_samples, url, MD5, ...)."""
    return _info_module().INFO


def medmnist_version() -> str:
    return getattr(_info_module(), "__version__", "unknown")


def default_root() -> str:
    """medmnist's default folder (``~/.medmnist``), so files it downloaded are found and vice versa."""
    return getattr(_info_module(), "DEFAULT_ROOT", None) or os.path.join(os.path.expanduser("~"), ".medmnist")


def medmnist_2d_flags() -> list[str]:
    """Every 2D MedMNIST flag (3D sets have names ending in ``mnist3d``)."""
    return [flag for flag in info() if not flag.endswith("3d")]


def size_flag(size: int) -> str:
    if size not in SIZES:
        raise MedGanBenchError(f"Size {size} is not a MedMNIST size; choose one of {SIZES}.")
    return "" if size == 28 else f"_{size}"


def file_name(flag: str, size: int = 28) -> str:
    """``pneumoniamnist.npz`` for 28 px, ``pneumoniamnist_64.npz`` for 64 px, and so on."""
    return f"{flag}{size_flag(size)}.npz"


def url_and_md5(flag: str, size: int = 28) -> tuple[str, str]:
    entry = info()[flag]
    sf = size_flag(size)
    return entry[f"url{sf}"], entry[f"MD5{sf}"]


def card(flag: str) -> dict:
    """A small data set card: task kind, class names, channels, split sizes, licence."""
    entry = info()[flag]
    labels = entry["label"]
    return {
        "name": flag,
        "title": entry.get("python_class", flag),
        "task": TASK_KINDS.get(entry["task"], entry["task"]),
        "medmnist_task": entry["task"],
        "classes": [labels[k] for k in sorted(labels, key=int)],
        "num_classes": len(labels),
        "channels": int(entry["n_channels"]),
        "n_samples": dict(entry["n_samples"]),
        "sizes": list(SIZES),
        "license": entry.get("license", ""),
        "description": entry.get("description", ""),
        "source": "MedMNIST v2 (Yang et al., Scientific Data 2023)",
    }
