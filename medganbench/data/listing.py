"""The table behind ``medganbench data list`` (also used by notebook 00)."""

from __future__ import annotations


def list_datasets() -> list[dict]:
    """Every registered data set as a dict: name, task, classes, channels, sizes, sizes present locally."""
    from medganbench.data import catalog
    from medganbench.data.medmnist import expected_path
    from medganbench.data.phantoms import DEFAULT_SPLIT_SIZES, phantom_card
    from medganbench.registry import DATASETS

    rows = []
    for name in DATASETS.names():
        meta = DATASETS.info(name)
        if meta.get("source") == "medmnist":
            card = catalog.card(name)
            present = [s for s in catalog.SIZES if expected_path(name, s).is_file()]
            rows.append({"name": name, "task": card["task"], "num_classes": card["num_classes"],
                         "classes": card["classes"], "channels": card["channels"],
                         "sizes": list(catalog.SIZES), "present_sizes": present,
                         "n_samples": card["n_samples"], "source": "medmnist", "synthetic": False,
                         "folder": str(expected_path(name, 28).parent)})
        elif name == "phantoms":
            card = phantom_card(28, 1, DEFAULT_SPLIT_SIZES)
            rows.append({"name": name, "task": card["task"], "num_classes": card["num_classes"],
                         "classes": card["classes"], "channels": 1, "sizes": "any",
                         "present_sizes": "procedural", "n_samples": card["n_samples"],
                         "source": "procedural", "synthetic": True, "folder": None})
        else:  # registered by another part of the kit; list what the registry knows
            rows.append({"name": name, "task": meta.get("task", "?"), "num_classes": None, "classes": [],
                         "channels": None, "sizes": None, "present_sizes": [], "n_samples": {},
                         "source": meta.get("source", "?"), "synthetic": None, "folder": None})
    return rows
