"""Data sets stored as a MedMNIST-layout npz anywhere on disk (e.g. written by ``dicom prepare``).

The card sits beside the npz as ``<name>.json`` (written by the tool that made the file); without
one, a minimal card is derived from the arrays.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medganbench.data.medmnist import Dataset, read_npz_split
from medganbench.errors import DatasetUnavailable, MedGanBenchError

#: Card fields the kit reads, with the type each must have.
_CARD_TYPES = {"name": str, "task": str, "classes": list, "num_classes": int, "channels": int, "size": int}


def read_card(card_path: Path, images: np.ndarray, labels: np.ndarray) -> dict:
    """Read and check a data set card (JSON object) against the arrays it describes.

    A card that is not valid JSON, not an object, has a field of the wrong type, or disagrees with
    the arrays (channels; a label outside ``num_classes``) raises :class:`MedGanBenchError` naming the
    card file and the field.
    """
    fix = "fix or delete it (without a card one is derived from the arrays)"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MedGanBenchError(f"data set card {card_path} is not valid JSON ({exc}); {fix}.") from None
    if not isinstance(card, dict):
        raise MedGanBenchError(f"data set card {card_path} must be a JSON object, got {type(card).__name__}; {fix}.")
    for key, typ in _CARD_TYPES.items():
        v = card.get(key)
        if v is not None and (not isinstance(v, typ) or isinstance(v, bool)):
            raise MedGanBenchError(f"data set card {card_path}: {key!r} must be {typ.__name__}, got {v!r}; {fix}.")
    if "classes" in card and not all(isinstance(c, str) for c in card["classes"]):
        raise MedGanBenchError(f"data set card {card_path}: 'classes' must be a list of names; {fix}.")
    k = card.get("num_classes")
    if k is not None and k < 1:
        raise MedGanBenchError(f"data set card {card_path}: num_classes={k} must be at least 1; {fix}.")
    if k is not None and labels.shape[1] == 1 and labels.size and int(labels.max()) >= k:
        raise MedGanBenchError(f"data set card {card_path}: num_classes={k} but the labels go up to "
                               f"{int(labels.max())}; {fix}.")
    if card.get("channels") is not None and card["channels"] != images.shape[-1]:
        raise MedGanBenchError(f"data set card {card_path}: channels={card['channels']} but the images have "
                               f"{images.shape[-1]}; {fix}.")
    return card


def load_npz_dataset(path: str | Path, split: str = "train") -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"No npz data set at {path}.")
    images, labels = read_npz_split(path, split)
    card_path = path.with_suffix(".json")
    if card_path.is_file():
        card = read_card(card_path, images, labels)
    else:
        n = int(labels.max()) + 1 if labels.size else 1
        card = {"name": path.stem, "task": "binary" if n == 2 else "multi-class",
                "classes": [str(i) for i in range(n)], "num_classes": n}
    card.setdefault("name", path.stem)
    card.setdefault("channels", int(images.shape[-1]))
    card.setdefault("num_classes", int(np.max(labels)) + 1 if labels.size else 1)
    card.update(split=split, path=str(path), size=int(images.shape[1]))
    return Dataset(images=images, labels=labels, card=card, split=split)
