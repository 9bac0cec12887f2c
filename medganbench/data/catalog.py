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


MEDMNIST_CITATION = (
    "Jiancheng Yang, Rui Shi, Donglai Wei, Zequan Liu, Lin Zhao, Bilian Ke, Hanspeter Pfister, Bingbing Ni. "
    "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image classification. "
    "Scientific Data, 2023. https://doi.org/10.1038/s41597-022-01721-8"
)

# The study each 2D MedMNIST set was derived from (MedMNIST asks users to cite it as well).
SOURCE_CITATIONS = {
    "pathmnist": "Kather et al., Predicting survival from colorectal cancer histology slides using deep "
                 "learning: a retrospective multicenter study. PLOS Medicine, 2019 (NCT-CRC-HE-100K).",
    "chestmnist": "Wang et al., ChestX-ray8: Hospital-scale chest X-ray database and benchmarks. CVPR, 2017 "
                  "(NIH ChestX-ray14).",
    "dermamnist": "Tschandl et al., The HAM10000 dataset. Scientific Data, 2018; Codella et al., Skin lesion "
                  "analysis toward melanoma detection 2018 (ISIC), arXiv:1902.03368.",
    "octmnist": "Kermany et al., Identifying medical diagnoses and treatable diseases by image-based deep "
                "learning. Cell, 2018.",
    "pneumoniamnist": "Kermany et al., Identifying medical diagnoses and treatable diseases by image-based deep "
                      "learning. Cell, 2018.",
    "retinamnist": "Liu et al., DeepDRiD: Diabetic retinopathy - grading and image quality estimation "
                   "challenge. Patterns, 2022.",
    "breastmnist": "Al-Dhabyani et al., Dataset of breast ultrasound images. Data in Brief, 2020.",
    "bloodmnist": "Acevedo et al., A dataset of microscopic peripheral blood cell images for development of "
                  "automatic recognition systems. Data in Brief, 2020.",
    "tissuemnist": "Ljosa et al., Annotated high-throughput microscopy image sets for validation. Nature "
                   "Methods, 2012 (BBBC051).",
    "organamnist": "Bilic et al., The Liver Tumor Segmentation Benchmark (LiTS). Medical Image Analysis, 2023; "
                   "Xu et al., Efficient multiple organ localization in CT image using 3D region proposal "
                   "network. IEEE TMI, 2019.",
}
SOURCE_CITATIONS["organcmnist"] = SOURCE_CITATIONS["organsmnist"] = SOURCE_CITATIONS["organamnist"]


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
        "source": "MedMNIST v2 (Yang et al., Scientific Data 2023), https://medmnist.com",
        "citation": MEDMNIST_CITATION,
        "source_citation": SOURCE_CITATIONS.get(flag, ""),
        "synthetic": False,
    }
