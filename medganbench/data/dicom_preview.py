"""A PNG montage of scanned DICOM series: a few evenly spread slices per series, each in its window.

CLI: ``medganbench dicom preview DIR --out montage.png``.
"""

from __future__ import annotations

from pathlib import Path

from medganbench.data.dicom import ScanResult, load_series
from medganbench.data.windows import window_volume
from medganbench.io import save_figure


def preview_montage(result: ScanResult, out: str | Path, window: str = "auto", per_series: int = 8,
                    max_series: int = 12, min_slices: int = 1) -> Path:
    """Write a montage PNG: one row per series (largest first within each modality), ``per_series``
    slices spread evenly along the slice normal, titled with modality, slice count, matrix and window.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    chosen = [s for s in result.series if s.n_slices >= min_slices][:max_series]
    fig, axes = plt.subplots(len(chosen), per_series, figsize=(1.6 * per_series, 1.8 * len(chosen)), squeeze=False)
    for row, s in zip(axes, chosen):
        vol = load_series(s, max_slices=per_series)
        u8, win = window_volume(vol.pixels, window, s.modality, s.window, s.voi_lut)
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < len(u8):
                ax.imshow(u8[k], cmap="gray", vmin=0, vmax=255)
        cw = f" {win['center']:g}/{win['width']:g}" if win["center"] is not None else ""
        row[0].set_title(f"{s.modality} · {s.n_slices} sl · {s.rows}×{s.columns} · {win['window']}{cw} · {s.uid[:8]}",
                         fontsize=7, loc="left")
    fig.tight_layout()
    return save_figure(fig, out, dpi=90, close=True)
