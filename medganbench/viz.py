"""Image grids: a labelled matplotlib figure for people, a plain ``uint8`` mosaic for programs.

- :func:`grid_array` tiles images into one ``uint8`` array (no matplotlib), e.g. for a trainer's
  PNG of samples every few steps.
- :func:`image_grid` draws the same mosaic with each image's class name on it and returns a
  matplotlib ``Figure``; a notebook cell that ends with it shows it inline.
- :func:`save_grid` writes that figure as a PNG (atomically).
- :func:`save_grid_png` writes the bare mosaic's pixels as a PNG (the Trainer's ``grids/step_XXXXXX.png``).
- :func:`plot_log` draws a run's ``log.csv`` (losses, discriminator outputs).

Every other picture of the kit that tiles images (the benchmark's ``samples.png``, translation montages,
translation grids) tiles them with :func:`grid_array`.

Images may be ``uint8`` in ``[0, 255]`` or ``float`` in ``[-1, 1]`` (the generator's range), shaped
``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` (NHWC).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError
from medganbench.imageconv import as_uint8_nhwc  # noqa: F401  (re-exported)
from medganbench.io import atomic_path, save_figure


def grid_array(images, ncols: int = 8, pad: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile ``N`` images into one mosaic: ``uint8 (rows*(H+pad)+pad, ncols*(W+pad)+pad, C)``.

    ``ncols`` is capped at ``N``; empty cells of the last row are left at ``pad_value``.
    """
    x = as_uint8_nhwc(images)
    n, h, w, c = x.shape
    if n == 0:
        raise MedGanBenchError("No images to put in a grid.")
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        out[top:top + h, left:left + w] = x[i]
    return out


def _label_text(label, class_names) -> str:
    row = np.asarray(label).reshape(-1)
    if row.size == 1:
        k = int(row[0])
        if class_names is not None and 0 <= k < len(class_names):
            return str(class_names[k])
        return str(k)
    # Multi-label: the positive labels, by name when known.
    on = [int(i) for i in np.flatnonzero(row)]
    if not on:
        return "none"
    return "+".join(str(class_names[i]) if class_names is not None and i < len(class_names) else str(i)
                    for i in on)


def image_grid(images, labels=None, class_names=None, ncols: int = 8, title: str | None = None,
               cell_inches: float = 1.1, pad: int = 2):
    """A matplotlib ``Figure`` showing ``images`` in a grid, each captioned with its class name.

    images: ``uint8 (N,H,W[,C])`` in ``[0, 255]`` or float in ``[-1, 1]``.
    labels: optional ``(N,)`` / ``(N, 1)`` class indices, or ``(N, L)`` multi-label 0/1 rows.
    class_names: optional list of names indexed by class.
    The figure is closed in pyplot before it is returned, so a notebook shows it once (as the
    cell's value) and scripts do not accumulate open figures.
    """
    import matplotlib.pyplot as plt

    x = as_uint8_nhwc(images)
    n, h, w, c = x.shape
    if labels is not None and len(labels) != n:
        raise MedGanBenchError(f"{len(labels)} labels for {n} images.")
    mosaic = grid_array(x, ncols=ncols, pad=pad)
    ncols = max(1, min(int(ncols), n))
    width = min(ncols * cell_inches, 16.0)
    height = width * mosaic.shape[0] / mosaic.shape[1] + (0.4 if title else 0.0)
    fig, ax = plt.subplots(figsize=(width, height))
    plt.close(fig)
    if c == 1:
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    if labels is not None:
        labels = np.asarray(labels)
        fontsize = max(5.0, min(9.0, 7.0 * cell_inches * 8 / max(ncols, 8)))
        for i in range(n):
            r, col = divmod(i, ncols)
            ax.text(pad + col * (w + pad) + 1, pad + r * (h + pad) + 1, _label_text(labels[i], class_names),
                    fontsize=fontsize, color="white", va="top", ha="left",
                    bbox={"facecolor": "black", "alpha": 0.55, "pad": 1.0, "linewidth": 0})
    if title:
        ax.set_title(title)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99 if not title else 1 - 0.4 / height)
    return fig


def save_grid(path: str | Path, images, labels=None, class_names=None, ncols: int = 8,
              title: str | None = None, dpi: int = 100, **kwargs) -> Path:
    """Draw :func:`image_grid` and write it as a PNG at ``path`` (folders created; atomic). Returns the path."""
    fig = image_grid(images, labels=labels, class_names=class_names, ncols=ncols, title=title, **kwargs)
    return save_figure(fig, path, dpi=dpi)


def save_grid_png(path: str | Path, images, ncols: int | None = None) -> Path:
    """Write the pixels of :func:`grid_array`'s mosaic of ``images`` as a PNG (atomically; grey stays grey).

    images: ``uint8 (N, H, W[, C])`` or float ``[-1, 1]``; ``ncols`` defaults to ``ceil(sqrt(N))``; 1-pixel
    white padding. A labelled figure for people is :func:`save_grid`.
    """
    import matplotlib.image as mpimg

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
