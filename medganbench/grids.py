"""PNG files of a run: the Trainer's pixel grids and the loss plot (the tiling itself is ``viz.grid_array``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from medganbench.io import atomic_path, save_figure


def make_grid(images: np.ndarray, ncols: int | None = None, pad: int = 1) -> np.ndarray:
    """Deprecated: use :func:`medganbench.viz.grid_array` (``mgb.grid_array``); kept for old notebooks."""
    from medganbench.viz import grid_array

    n = len(images)
    return grid_array(images, ncols or max(1, int(math.ceil(math.sqrt(n)))), pad=pad, pad_value=255)


def save_grid(path: str | Path, images: np.ndarray, ncols: int | None = None) -> Path:
    """Write the pixels of a grid of ``uint8 (N,H,W,C)`` images as a PNG (atomically; grey stays grey).

    The mosaic is :func:`medganbench.viz.grid_array` (the one tiling function); a labelled figure for
    people is :func:`medganbench.viz.save_grid`. The Trainer's ``grids/step_XXXXXX.png`` are written here.
    """
    import matplotlib

    matplotlib.use(matplotlib.get_backend() or "Agg")
    import matplotlib.image as mpimg

    from medganbench.viz import grid_array

    n = len(images)
    grid = grid_array(images, ncols or max(1, int(math.ceil(math.sqrt(n)))), pad=1, pad_value=255)
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if grid.shape[-1] == 1:
            mpimg.imsave(tmp, grid[..., 0], cmap="gray", vmin=0, vmax=255, format="png")
        else:
            mpimg.imsave(tmp, grid, format="png")
    return path


def plot_log(log_csv: str | Path, path: str | Path | None = None, columns=None):
    """Plot the loss curves (and D(x), D(G(z))) of a run's ``log.csv``; save a PNG when ``path`` is given.

    Returns the matplotlib figure (notebooks show it inline).
    """
    import csv

    import matplotlib.pyplot as plt

    with open(log_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    if rows:
        steps = [int(r["step"]) for r in rows]
        losses = columns or [k for k in rows[0] if k.endswith("_loss")]
        for k in losses:
            axes[0].plot(steps, [float(r[k]) for r in rows], label=k)
        for k in ("d_real", "d_fake"):
            if k in rows[0]:
                axes[1].plot(steps, [float(r[k]) for r in rows], label=k)
    axes[0].set(xlabel="step", title="losses")
    axes[1].set(xlabel="step", title="discriminator outputs")
    for ax in axes:
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=100)
    return fig
