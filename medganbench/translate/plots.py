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

    from medganbench.imageconv import to_unit

    total = len(next(iter(columns.values())))
    pick = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))
    cols = {k: to_unit(v)[pick, ..., 0] for k, v in columns.items()}
    t = to_unit(target)[pick, ..., 0] if target is not None else None
    panels = []
    for name, imgs in cols.items():
        panels.append((name, imgs, "gray", (0, 1)))
        if t is not None and imgs is not None and not np.shares_memory(imgs, t) and name != "target":
            panels.append((f"|{name} - target|", np.abs(imgs - t), "magma", (0, diff_scale)))
    rows = len(pick)
    fig, axes = plt.subplots(rows, len(panels), figsize=(1.6 * len(panels), 1.6 * rows), squeeze=False)
    for j, (name, imgs, cmap, (lo, hi)) in enumerate(panels):
        for i in range(rows):
            ax = axes[i, j]
            ax.imshow(imgs[i], cmap=cmap, vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=7)
    fig.tight_layout()
    return fig
