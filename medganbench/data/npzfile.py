"""Data sets stored as a MedMNIST-layout npz anywhere on disk (e.g. written by ``dicom prepare``).

The card sits beside the npz as ``<name>.json`` (written by the tool that made the file); without
one, a minimal card is derived from the arrays.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medganbench.data.medmnist import Dataset, read_npz_split
from medganbench.errors import DatasetUnavailable


def load_npz_dataset(path: str | Path, split: str = "train") -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"No npz data set at {path}.")
    images, labels = read_npz_split(path, split)
    card_path = path.with_suffix(".json")
    if card_path.is_file():
        card = json.loads(card_path.read_text())
    else:
        n = int(labels.max()) + 1 if labels.size else 1
        card = {"name": path.stem, "task": "binary" if n == 2 else "multi-class",
                "classes": [str(i) for i in range(n)], "num_classes": n}
    card.setdefault("name", path.stem)
    card.setdefault("channels", int(images.shape[-1]))
    card.setdefault("num_classes", int(np.max(labels)) + 1 if labels.size else 1)
    card.update(split=split, path=str(path), size=int(images.shape[1]))
    return Dataset(images=images, labels=labels, card=card, split=split)
