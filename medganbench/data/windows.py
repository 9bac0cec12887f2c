"""Intensity windows: physical values (HU, MR signal) -> ``uint8`` display/training images.

Taught in ``notebooks/06_dicom_to_gan.ipynb``.

- CT presets (centre, width in HU): see :data:`CT_PRESETS`; a custom window is ``"C,W"`` or a tuple.
- ``"dicom"``: the VOI the scanner chose: a VOI LUT table (0028,3010) when the header has one,
  else the first WindowCenter/WindowWidth (top level, or the functional groups of enhanced
  objects). VOILUTFunction SIGMOID is treated as LINEAR.
- ``"percentile"``: per series, the 0.5th and 99.5th percentiles map to 0 and 255 (MR has no
  absolute units, so a fixed window would not transfer between scanners or series).
- ``"auto"``: ``dicom`` when the header has a window or VOI LUT for CT, else ``brain`` for CT; percentile
  for every other modality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.imageconv import unit_to_uint8

#: CT windows as (centre, width) in Hounsfield units (common radiology presets).
CT_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "stroke": (40.0, 40.0),
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
}
WINDOW_NAMES = (*CT_PRESETS, "dicom", "percentile", "auto")


@dataclass(frozen=True)
class VoiLut:
    """A DICOM VOI LUT table: input ``first`` maps to ``table[0]``; entries have ``bits`` bits.

    Inputs below ``first`` take the first entry and inputs past the end the last (PS3.3 C.11.2).
    """

    first: int
    bits: int
    table: tuple[int, ...]

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Physical values (after the Modality LUT) -> ``uint8`` of the same shape."""
        lut = np.asarray(self.table, dtype=np.float32)
        idx = np.clip(np.round(np.asarray(values, dtype=np.float64)) - self.first, 0, len(lut) - 1).astype(np.int64)
        top = float(2 ** self.bits - 1) if self.bits > 0 else max(float(lut.max()), 1.0)
        return unit_to_uint8(lut[idx] / top)


def apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Linear window: ``center - width/2`` -> 0, ``center + width/2`` -> 255; ``uint8``, same shape."""
    if width <= 0:
        raise MedGanBenchError(f"window width must be positive, got {width}.")
    lo = center - width / 2.0
    scaled = (np.asarray(values, dtype=np.float32) - lo) / float(width)
    return unit_to_uint8(scaled)


def percentile_window(values: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """(centre, width) mapping the ``low``/``high`` percentiles of ``values`` to 0/255.

    The percentiles are taken over the voxels above the minimum when the minimum fills more than a
    fifth of the volume: the air around a head would otherwise set both ends of the range.
    """
    everything = np.asarray(values, dtype=np.float32).ravel()
    if not everything.size:
        return 0.5, 1.0
    v, vmin = everything, float(everything.min())
    if (v == vmin).mean() > 0.2 and (v > vmin).any():
        v = v[v > vmin]
    lo, hi = np.percentile(v, [low, high])
    if hi <= lo:  # e.g. a binary mask: show its full range instead of one flat level
        lo, hi = vmin, float(everything.max())
    if hi <= lo:
        lo, hi = lo - 1.0, lo  # a constant image shows white, not black
    width = float(hi - lo)
    return float(lo + width / 2.0), width


def parse_window(window: str | tuple[float, float]) -> str | tuple[float, float]:
    """Validate a window spec: a preset name, ``"dicom"``, ``"percentile"``, ``"auto"``, ``"C,W"`` or (C, W)."""
    if isinstance(window, (tuple, list)):
        if len(window) != 2:
            raise MedGanBenchError(f"custom window {window!r}: give (centre, width).")
        return float(window[0]), float(window[1])
    text = str(window).strip().lower()
    if text in WINDOW_NAMES:
        return text
    if "," in text:
        try:
            c, w = (float(v) for v in text.split(","))
        except ValueError:
            pass
        else:
            if w <= 0:
                raise MedGanBenchError(f"window {window!r}: the width must be positive.")
            return c, w
    raise MedGanBenchError(
        f"Unknown window {window!r}: use one of {', '.join(WINDOW_NAMES)} or a custom 'centre,width' such as '40,80'."
    )


def resolve_window(window: str | tuple[float, float], values: np.ndarray, modality: str,
                   header_window: tuple[float, float] | None = None,
                   voi_lut: VoiLut | None = None) -> tuple[tuple[float, float] | VoiLut, str]:
    """Turn a window spec into (centre, width) for one series -> ((c, w), description).

    ``values``: the series' physical values (any shape), used by ``percentile``. With ``"dicom"``
    and a ``voi_lut``, the LUT itself is returned instead of (centre, width).
    """
    spec = parse_window(window)
    if spec == "auto":
        if modality == "CT":
            spec = "dicom" if (header_window or voi_lut) else "brain"
        else:
            spec = "percentile"
    if isinstance(spec, tuple):
        return spec, f"custom {spec[0]:g}/{spec[1]:g}"
    if spec in CT_PRESETS:
        return CT_PRESETS[spec], spec
    if spec == "dicom":
        if voi_lut is not None:
            return voi_lut, "dicom VOI LUT"
        if header_window and header_window[1] > 0:
            return header_window, "dicom"
        c, w = percentile_window(values)
        return (c, w), "percentile (no window in header)"
    c, w = percentile_window(values)
    return (c, w), "percentile 0.5-99.5"


def window_volume(values: np.ndarray, window: str | tuple[float, float], modality: str,
                  header_window: tuple[float, float] | None = None,
                  voi_lut: VoiLut | None = None) -> tuple[np.ndarray, dict]:
    """Window a whole series at once -> (``uint8`` same shape, {"window", "center", "width"}).

    ``center``/``width`` are None when a VOI LUT table was applied.
    """
    chosen, name = resolve_window(window, values, modality, header_window, voi_lut)
    if isinstance(chosen, VoiLut):
        return chosen.apply(values), {"window": name, "center": None, "width": None}
    c, w = chosen
    return apply_window(values, c, w), {"window": name, "center": round(float(c), 3), "width": round(float(w), 3)}
