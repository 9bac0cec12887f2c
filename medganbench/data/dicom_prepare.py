"""DICOM series -> a 2-D training set in the MedMNIST npz layout, plus a JSON card.

Taught in ``notebooks/06_dicom_to_gan.ipynb``; CLI: ``medganbench dicom prepare``.

Per series (see :func:`prepare`):

1. decode to physical values (:func:`medganbench.data.dicom.load_series`) and window the whole
   series to ``[0, 255]`` (:mod:`medganbench.data.windows`; the window is recorded per series);
2. optional ``crop="body"``: crop every slice to the bounding box of the body/head, found once per
   series on the maximum projection (pixels above ``body_level`` of 255), so all slices share it;
3. keep the aspect ratio: ``fit="pad"`` pads the shorter side with black to a square (nothing is
   cut), ``fit="crop"`` cuts the longer side to a centred square (nothing is padded);
4. resize to ``size`` x ``size`` with anti-aliasing (Gaussian pre-filter, ``skimage``);
5. drop mostly-background slices: a slice is kept when at least ``min_foreground`` of its
   pixels are brighter than ``foreground_level`` (in 0..255).

Splits are made by patient (hashed PatientID), or by series when the patient is unknown
(``split_by="series"`` forces it), never by slice, with a seeded shuffle; the groups in every split
are recorded in the card. With fewer groups than splits some splits stay empty (and the card says
so) rather than leak a patient into two splits.

Labels: ``label="zero"`` (default) gives class 0 to every slice (an unconditional GAN);
``"modality"`` numbers the modalities found (sorted, e.g. CT=0, MR=1); ``"series"`` numbers the
series. The card's ``classes`` lists the names.

Bad files do not stop a prepare: a slice that fails to decode (a truncated or damaged file the scan
could not catch, e.g. compressed data cut short) is left out, and the card lists it under ``skipped``
and counts it per series (``bad_slices``), as the scan's skipped files are.

No personal data is written: the npz holds pixels and labels only; the card holds pseudonymous
series, study and patient ids (keyed HMAC, :mod:`medganbench.data.pseudonym`, whose secret is never
written), technical fields, counts and reasons for skipped files (their paths are replaced by
pseudonyms too, since file names can carry names or UIDs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from medganbench.data.dicom import ScanResult, Series, Skipped, load_series, scan
from medganbench.data.windows import parse_window, window_volume
from medganbench.errors import MedGanBenchError
from medganbench.imageconv import to_unit, unit_to_uint8
from medganbench.io import atomic_path, atomic_write_text

SPLITS = ("train", "val", "test")


@dataclass
class PrepareConfig:
    """Options of ``medganbench dicom prepare`` (and :func:`prepare`)."""

    size: int = field(default=64, metadata={"help": "side of the square output images in pixels"})
    window: str = field(default="auto", metadata={"help": "brain, subdural, stroke, lung, mediastinum, bone, dicom, "
                                                          "percentile, auto, or a custom 'centre,width' in HU"})
    modality: str = field(default="", metadata={"help": "keep only series of this modality, e.g. MR or CT (empty: all)"})
    min_slices: int = field(default=1, metadata={"help": "ignore series with fewer slices than this"})
    crop: Literal["none", "body"] = field(default="none", metadata={"help": "crop to the body/head bounding box first"})
    fit: Literal["pad", "crop"] = field(default="pad", metadata={"help": "square the image by padding or by cropping"})
    min_foreground: float = field(default=0.05, metadata={"help": "drop slices with less than this fraction of foreground"})
    foreground_level: int = field(default=20, metadata={"help": "a pixel is foreground above this value (0..255)"})
    body_level: int = field(default=20, metadata={"help": "threshold (0..255) of the body mask used by --crop body"})
    split: tuple[float, float, float] = field(default=(0.8, 0.1, 0.1), metadata={"help": "train,val,test fractions"})
    split_by: Literal["patient", "series"] = field(default="patient", metadata={"help": "unit kept whole in one split"})
    seed: int = field(default=0, metadata={"help": "seed of the split shuffle"})
    label: Literal["zero", "modality", "series"] = field(default="zero", metadata={"help": "what the class label means"})
    color: Literal["convert", "skip"] = field(default="convert", metadata={"help": "colour images: convert to grey or skip"})


def _square(img: np.ndarray, fit: str) -> np.ndarray:
    h, w = img.shape
    if h == w:
        return img
    if fit == "crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        return img[top:top + s, left:left + s]
    s = max(h, w)
    out = np.zeros((s, s), dtype=img.dtype)
    top, left = (s - h) // 2, (s - w) // 2
    out[top:top + h, left:left + w] = img
    return out


def body_box(volume_u8: np.ndarray, level: int) -> tuple[int, int, int, int]:
    """Bounding box (top, bottom, left, right) of pixels above ``level`` in the max projection."""
    mip = volume_u8.max(axis=0)
    ys, xs = np.nonzero(mip > level)
    if len(ys) == 0:
        return 0, mip.shape[0], 0, mip.shape[1]
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def series_to_slices(series: Series, cfg: PrepareConfig, progress: bool = False,
                     bad: list[Skipped] | None = None) -> tuple[np.ndarray, dict]:
    """One series -> (``uint8 (K, size, size)`` kept slices in slice order, info dict).

    Files whose pixels fail to decode are left out and appended to ``bad`` (info ``bad_slices``).
    """
    from skimage.transform import resize

    vol = load_series(series, progress=progress, on_error="skip")
    n_bad = series.n_slices - len(vol.pixels)
    if bad is not None:
        bad.extend(vol.dropped)
    info = {"series": series.uid, "patient": series.patient, "study": series.study, "modality": series.modality,
            "matrix": [series.rows, series.columns], "slices": series.n_slices}
    if len(vol.pixels) == 0:
        return (np.zeros((0, cfg.size, cfg.size), np.uint8),
                {**info, "kept": 0, "dropped_background": 0, "bad_slices": n_bad, "window": None})
    u8, win = window_volume(vol.pixels, cfg.window, series.modality, series.window, series.voi_lut)
    if cfg.crop == "body":
        t, b, left, r = body_box(u8, cfg.body_level)
        u8 = u8[:, t:b, left:r]
    out = np.empty((len(u8), cfg.size, cfg.size), dtype=np.uint8)
    for i, sl in enumerate(u8):
        sq = to_unit(_square(sl, cfg.fit), np.float32)
        out[i] = unit_to_uint8(resize(sq, (cfg.size, cfg.size), anti_aliasing=True, order=1))
    fg = (out > cfg.foreground_level).mean(axis=(1, 2))
    keep = fg >= cfg.min_foreground
    info.update(kept=int(keep.sum()), dropped_background=int((~keep).sum()), bad_slices=n_bad, **win)
    return out[keep], info


def assign_splits(groups: dict[str, int], fractions: Sequence[float], seed: int) -> dict[str, str]:
    """Group id -> split name; a group (patient or series) never straddles two splits.

    Groups are shuffled with ``seed``, then ordered from large to small by size class (powers of
    two, so groups of similar size stay in shuffled order), and each goes to the split that is the
    least filled relative to its target share of images. Large groups are placed first so that a
    small set of patients still fills every split with a non-zero fraction when it can.
    """
    fr = np.asarray(fractions, dtype=float)
    if len(fr) != 3 or (fr < 0).any() or fr.sum() <= 0:
        raise MedGanBenchError(f"split fractions {tuple(fractions)}: give three non-negative numbers (train,val,test).")
    target = fr / fr.sum() * max(sum(groups.values()), 1)
    order = sorted(groups)
    np.random.default_rng(seed).shuffle(order)
    order.sort(key=lambda g: -int(np.log2(max(groups[g], 1))))
    have = np.zeros(3)
    out = {}
    for g in order:
        fill = np.where(target > 0, have / np.where(target > 0, target, 1), np.inf)
        k = int(np.argmin(fill))
        out[g] = SPLITS[k]
        have[k] += groups[g]
    return out


def prepare(paths: str | Path | Sequence[str | Path], out: str | Path, config: PrepareConfig | None = None,
            progress: bool = True, scan_result: ScanResult | None = None, secret: bytes | None = None) -> dict:
    """Build a MedMNIST-layout npz at ``out`` from the DICOM series under ``paths``; returns the card.

    ``out`` gets ``{train,val,test}_images`` ``uint8 (N, size, size)`` and ``{split}_labels``
    ``int64 (N, 1)``; ``<out>.json`` gets the card (read by
    :func:`medganbench.data.npzfile.load_npz_dataset`). Raises :class:`MedGanBenchError` when no
    series qualifies or no slice survives the background filter. ``secret``: key of the pseudonyms
    (default: random, drawn for this data set and never written; see :mod:`medganbench.data.pseudonym`).
    """
    cfg = config or PrepareConfig()
    parse_window(cfg.window)
    if cfg.size < 4:
        raise MedGanBenchError(f"size={cfg.size}: give an image side of at least 4 pixels.")
    out = Path(out)
    if out.suffix != ".npz":
        raise MedGanBenchError(f"--out {out}: the output must be a .npz file.")
    result = scan_result or scan(paths, color=cfg.color, progress=progress, secret=secret)
    chosen = [s for s in result.series
              if (not cfg.modality or s.modality.upper() == cfg.modality.upper()) and s.n_slices >= cfg.min_slices]
    if not chosen:
        found = ", ".join(sorted({f"{s.modality}×{s.n_slices}" for s in result.series})) or "none"
        raise MedGanBenchError(f"No series matches modality={cfg.modality or 'any'} and min_slices={cfg.min_slices} "
                               f"(series found: {found}).")
    per_series, infos, bad = [], [], []
    iterator = chosen
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(chosen, desc="prepare", unit="series")
    for s in iterator:
        imgs, info = series_to_slices(s, cfg, bad=bad)
        per_series.append(imgs)
        infos.append(info)
    if sum(len(x) for x in per_series) == 0 and sum(i["kept"] + i["dropped_background"] for i in infos) == 0:
        raise MedGanBenchError(f"No slice of the {len(chosen)} chosen series could be decoded; first problem: "
                               f"{bad[0].reason if bad else 'none recorded'}.")
    if sum(len(x) for x in per_series) == 0:
        raise MedGanBenchError(f"Every slice was dropped as background (min_foreground={cfg.min_foreground}, "
                               f"foreground_level={cfg.foreground_level}); lower them or check the window.")
    group_of = [(i["patient"] if cfg.split_by == "patient" and i["patient"] != "unknown" else "series:" + i["series"])
                for i in infos]
    sizes: dict[str, int] = {}
    for g, imgs in zip(group_of, per_series):
        sizes[g] = sizes.get(g, 0) + len(imgs)
    split_of = assign_splits(sizes, cfg.split, cfg.seed)
    if cfg.label == "modality":
        classes = sorted({i["modality"] for i in infos})
        label_of = [classes.index(i["modality"]) for i in infos]
    elif cfg.label == "series":
        classes = [i["series"] for i in infos]
        label_of = list(range(len(infos)))
    else:
        classes, label_of = ["image"], [0] * len(infos)
    arrays = {}
    for sp in SPLITS:
        idx = [k for k, g in enumerate(group_of) if split_of[g] == sp]
        imgs = [per_series[k] for k in idx]
        arrays[f"{sp}_images"] = (np.concatenate(imgs) if imgs else np.zeros((0, cfg.size, cfg.size), np.uint8))
        arrays[f"{sp}_labels"] = np.concatenate(
            [np.full((len(per_series[k]), 1), label_of[k], np.int64) for k in idx]) if idx else np.zeros((0, 1), np.int64)
    for k, info in enumerate(infos):
        info["split"] = split_of[group_of[k]]
        info["label"] = label_of[k]
    from medganbench import __version__

    counts = {sp: len(arrays[f"{sp}_images"]) for sp in SPLITS}
    card = {
        "name": out.stem, "source": "dicom", "kit_version": __version__,
        "task": "multi-class" if len(classes) > 1 else "single-class",
        "classes": classes, "num_classes": len(classes), "channels": 1, "size": cfg.size,
        "n_samples": counts, "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "split": {"by": cfg.split_by, "seed": cfg.seed, "fractions": list(cfg.split),
                  "groups": {sp: sorted(g for g, s in split_of.items() if s == sp) for sp in SPLITS},
                  "empty_splits": [sp for sp in SPLITS if counts[sp] == 0]},
        "series": infos,
        "skipped": [{"file": result.pseudonym(s.path), "reason": s.reason.replace(s.path, "<file>")}
                    for s in [*result.skipped, *bad]],
        "bad_slices": sum(i["bad_slices"] for i in infos),
        "non_image": result.non_image,
        "series_not_used": len(result.series) - len(chosen),
    }
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    atomic_write_text(out.with_suffix(".json"), json.dumps(card, indent=2))
    return card
