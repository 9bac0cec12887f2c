"""PNG figures for translation: montages with difference maps (matplotlib, Agg-safe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_png(image_u8: np.ndarray, path: str | Path) -> Path:
    """Write a ``uint8 (H, W)`` or ``(H, W, 1|3)`` image as PNG (atomically)."""
    import matplotlib.image as mpimg

    from medganbench.io import atomic_path

    img = np.asarray(image_u8)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        mpimg.imsave(tmp, img, cmap="gray", vmin=0, vmax=255, format="png")
    return path


def montage_figure(columns: dict[str, np.ndarray], target: np.ndarray | None = None, n: int = 4,
                   diff_scale: float = 0.25):
    """A matplotlib figure: one row per case, one column per named image set, plus |x - target| maps.

    columns: name -> images (``uint8`` or float ``[0, 1]``, ``(N,H,W,1)``); ``n`` cases evenly spread
    over the set are shown (MR test slices run from the skull base to the vertex). When ``target`` is given,
    each non-target column gets a difference map ``|x - target|`` shown on ``[0, diff_scale]``
    (hot colours = large error) next to it, so invented or removed structure stands out.
    """
    import matplotlib.pyplot as plt

    from medganbench.imageconv import to_unit, unit_to_uint8
    from medganbench.viz import grid_array

    total = len(next(iter(columns.values())))
    pick = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))
    def one_channel(v):  # (N, H, W) or (N, H, W, C) -> the picked cases' first channel, (n, H, W, 1)
        u = to_unit(v)[pick]
        return u[..., None] if u.ndim == 3 else u[..., :1]

    cols = {k: one_channel(v) for k, v in columns.items()}
    t = one_channel(target) if target is not None else None
    # Each panel is one column of cases tiled by grid_array; a difference map is stored as uint8 of
    # |x - target| / diff_scale, so its colour scale still spans [0, diff_scale].
    panels = []
    for name, imgs in cols.items():
        panels.append((name, unit_to_uint8(imgs), "gray"))
        if t is not None and not np.shares_memory(imgs, t) and name != "target":
            panels.append((f"|{name} - target|", unit_to_uint8(np.abs(imgs - t) / diff_scale), "magma"))
    rows = len(pick)
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 * len(panels), 1.6 * rows), squeeze=False)
    for ax, (name, imgs, cmap) in zip(axes[0], panels):
        ax.imshow(grid_array(imgs, ncols=1, pad=2)[..., 0], cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=7)
    fig.tight_layout()
    return fig
