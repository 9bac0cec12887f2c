"""``medganbench data``: list the data sets, count what is in one, and preview it as a PNG grid.

    medganbench data list [--json]
    medganbench data info NAME [--size 28] [--json]
    medganbench data preview NAME [--split train] [--n 64] [--size 28] [--out grid.png]

NAME is a registered data set (``pneumoniamnist``, ``phantoms``, ...) or a path to a
MedMNIST-layout ``.npz``. None of these commands imports TensorFlow or torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from medganbench.data.listing import list_datasets
from medganbench.errors import MedGanBenchError

SPLITS = ("train", "val", "test")


def add_commands(sub) -> None:
    parser = sub.add_parser("data", help="List, inspect and preview data sets.",
                            description="List, inspect and preview data sets.")
    data_sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    data_sub.required = True

    p = data_sub.add_parser("list", help="Every data set: task, classes, sizes, what is present locally.")
    p.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    p.set_defaults(func=cmd_list)

    p = data_sub.add_parser("info", help="Split sizes and class counts, read from the data file itself.")
    p.add_argument("name", metavar="NAME", help="Data set name (see `data list`) or path to a .npz.")
    p.add_argument("--size", type=int, default=28, help="Image size in pixels (MedMNIST: 28, 64, 128, 224).")
    p.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    p.set_defaults(func=cmd_info)

    p = data_sub.add_parser("preview", help="Write a labelled PNG grid of a split and print the data card.")
    p.add_argument("name", metavar="NAME", help="Data set name (see `data list`) or path to a .npz.")
    p.add_argument("--split", default="train", choices=SPLITS, help="Which split to show.")
    p.add_argument("--n", type=int, default=64, help="Number of images in the grid.")
    p.add_argument("--size", type=int, default=28, help="Image size in pixels (MedMNIST: 28, 64, 128, 224).")
    p.add_argument("--seed", type=int, default=0, help="Seed for picking which images to show.")
    p.add_argument("--ncols", type=int, default=8, help="Images per row.")
    p.add_argument("--out", default=None,
                   help="PNG to write (default: runs/preview/<name>_<split>_<size>px.png).")
    p.set_defaults(func=cmd_preview)


# --- helpers ----------------------------------------------------------------------------------

def _load(name: str, split: str, size: int):
    from medganbench.data import load_dataset
    from medganbench.registry import DATASETS

    if name.endswith(".npz"):
        return load_dataset(name, split)
    if name not in DATASETS:
        DATASETS.entry(name)  # raises ConfigError with a suggestion
    return load_dataset(name, split, size=size)


def class_counts(labels: np.ndarray, classes: list[str]) -> dict[str, int]:
    """Images per class; for multi-label sets, images that carry each label."""
    labels = np.asarray(labels).reshape(len(labels), -1)
    names = list(classes) if classes else []
    if labels.shape[1] > 1:
        counts = labels.sum(axis=0)
    else:
        k = max(len(names), int(labels.max()) + 1 if labels.size else 0)
        counts = np.bincount(labels[:, 0], minlength=k)
    return {(names[i] if i < len(names) else str(i)): int(c) for i, c in enumerate(counts)}


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=str))


# --- commands ---------------------------------------------------------------------------------

def cmd_list(args) -> int:
    rows = list_datasets()
    if args.json:
        _print_json(rows)
        return 0
    header = f"{'NAME':<16} {'TASK':<12} {'CLASSES':>7} {'CH':>2}  {'TRAIN/VAL/TEST':<20} PRESENT LOCALLY"
    print(header)
    for r in rows:
        n = r["n_samples"]
        split_text = "/".join(str(n.get(s, "?")) for s in SPLITS) if n else "?"
        present = r["present_sizes"]
        if isinstance(present, str):
            present_text = present
        else:
            present_text = ", ".join(f"{s}px" for s in present) or "no (downloads on first use)"
        print(f"{r['name']:<16} {r['task']:<12} {r['num_classes'] or '?':>7} {r['channels'] or '?':>2}  "
              f"{split_text:<20} {present_text}")
    folders = {r["folder"] for r in rows if r["folder"]}
    if folders:
        print(f"\nMedMNIST folder: {', '.join(sorted(folders))} (set MEDGANBENCH_DATA to change it)")
    return 0


def dataset_info(name: str, size: int = 28) -> dict:
    """Card plus, per split: image count, class counts, shape, dtype and pixel range read from the data."""
    splits = {}
    card = None
    for split in SPLITS:
        ds = _load(name, split, size)
        card = card or dict(ds.card)
        x = ds.images
        splits[split] = {
            "n": len(ds),
            "class_counts": class_counts(ds.labels, ds.card.get("classes", [])),
            "image_shape": list(ds.image_shape),
            "dtype": str(x.dtype),
            "min": int(x.min()) if x.size else None,
            "max": int(x.max()) if x.size else None,
            "mean": round(float(x.mean()), 3) if x.size else None,
        }
    for key in ("split", "n_samples"):
        card.pop(key, None)
    return {"name": card.get("name", name), "size": size, "card": card, "splits": splits}


def cmd_info(args) -> int:
    info = dataset_info(args.name, args.size)
    if args.json:
        _print_json(info)
        return 0
    _print_card(info["card"])
    print()
    print(f"{'SPLIT':<6} {'N':>6}  {'SHAPE':<12} {'RANGE':<9} CLASS COUNTS")
    for split, s in info["splits"].items():
        shape = "x".join(str(v) for v in s["image_shape"])
        counts = ", ".join(f"{k}: {v}" for k, v in s["class_counts"].items())
        print(f"{split:<6} {s['n']:>6}  {shape:<12} {s['min']}-{s['max']:<5} {counts}")
    return 0


def _print_card(card: dict) -> None:
    title = card.get("title") or card.get("name")
    print(f"{title} ({card.get('name')})" + ("  [SYNTHETIC]" if card.get("synthetic") else ""))
    classes = card.get("classes") or []
    lines = [
        ("task", f"{card.get('task')}, {len(classes)} classes: {', '.join(map(str, classes))}"),
        ("channels", card.get("channels")),
        ("size", f"{card.get('size')} px" if card.get("size") else None),
        ("file", card.get("path")),
        ("licence", card.get("license")),
        ("source", card.get("source")),
        ("cite", card.get("citation")),
        ("derived from", card.get("source_citation")),
        ("about", card.get("description")),
    ]
    for key, value in lines:
        if value not in (None, ""):
            print(f"  {key + ':':<13} {value}")


def cmd_preview(args) -> int:
    from medganbench.viz import save_grid

    if args.n < 1:
        raise MedGanBenchError(f"--n {args.n}: show at least one image.")
    ds = _load(args.name, args.split, args.size)
    if len(ds) == 0:
        raise MedGanBenchError(f"{args.name} has no images in its {args.split} split.")
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(ds), size=min(args.n, len(ds)), replace=False))
    stem = Path(args.name).stem if args.name.endswith(".npz") else args.name
    size = ds.card.get("size") or args.size
    out = Path(args.out) if args.out else Path("runs") / "preview" / f"{stem}_{args.split}_{size}px.png"
    title = f"{ds.card.get('title') or stem} · {args.split} · {len(idx)} of {len(ds)}"
    save_grid(out, ds.images[idx], ds.labels[idx], ds.card.get("classes"), ncols=args.ncols, title=title)
    _print_card(ds.card)
    print(f"\nWrote {out} ({len(idx)} {args.split} images)", file=sys.stdout)
    return 0
