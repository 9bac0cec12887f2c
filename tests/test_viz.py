"""One tiling function: every picture that tiles images goes through viz.grid_array."""

from __future__ import annotations

import numpy as np
import pytest

from medganbench.errors import MedGanBenchError
from medganbench.viz import grid_array


def _cells(n, h=4, w=5):
    return (np.arange(n, dtype=np.uint8)[:, None, None, None] * 10 + 5) * np.ones((1, h, w, 1), np.uint8)


def test_grid_array_places_every_image_and_pads():
    x = _cells(5)
    g = grid_array(x, ncols=3, pad=1, pad_value=255)
    assert g.shape == (2 * 5 + 1, 3 * 6 + 1, 1) and g.dtype == np.uint8
    for i in range(5):
        r, c = divmod(i, 3)
        assert (g[1 + r * 5:1 + r * 5 + 4, 1 + c * 6:1 + c * 6 + 5] == x[i]).all()
    assert (g[6:10, 13:18] == 255).all()  # the empty sixth cell keeps the pad value
    assert grid_array(x, ncols=1, pad=0).shape == (20, 5, 1)  # a column with no gaps (translation montages)
    with pytest.raises(MedGanBenchError, match="No images"):
        grid_array(x[:0])


def test_the_pictures_that_tile_images_write_them(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg

    from medganbench.bench.report import save_sample_grid
    from medganbench.translate.plots import montage_figure
    from medganbench.viz import save_grid_png

    x = _cells(9)
    png = mpimg.imread(save_grid_png(tmp_path / "g.png", x))
    assert png.shape[:2] == (3 * 5 + 1, 3 * 6 + 1)
    labels = np.array([0, 1, 1, 0, 1, 1, 1, 0, 1])
    assert mpimg.imread(save_sample_grid(x, tmp_path / "s.png", labels, per_class=4,
                                         class_names=["normal", "pneumonia"])).ndim == 3
    assert mpimg.imread(save_sample_grid(x, tmp_path / "u.png")).ndim == 3
    fig = montage_figure({"input": x, "target": x[::-1].copy()}, x[::-1].copy(), n=3)
    assert [ax.get_title() for ax in fig.axes] == ["input", "|input - target|", "target"]
