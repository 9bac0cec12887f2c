"""Memorization on real PneumoniaMNIST images, pixel space only (fast, no extractor): calibrated on held-out
real images, blurred or smooth images never flagged, copies (exact or jittered) always flagged.
The same checks with the domain features run in tests/test_protocol_sanity.py."""

from __future__ import annotations

import numpy as np
import pytest

from medganbench.errors import ConfigError


@pytest.fixture(scope="module")
def splits(medmnist_root):
    from medganbench.data import load_dataset

    train = load_dataset("pneumoniamnist", "train").images
    val = load_dataset("pneumoniamnist", "val").images
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(train))
    # a same-distribution set the "generator" never saw: 500 training images left out of the bank
    return {"bank": train[perm[500:]], "fresh": train[perm[:500]], "val": val}


def _blur(images, sigma):
    from scipy.ndimage import gaussian_filter

    return np.clip(np.rint(gaussian_filter(images.astype(np.float64), sigma=(0, sigma, sigma, 0))), 0, 255
                   ).astype(np.uint8)


def _jitter(images, levels, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(images.astype(int) + rng.integers(-levels, levels + 1, images.shape), 0, 255).astype(np.uint8)


def test_normalised_pixels_ignore_brightness_and_contrast():
    from medganbench.metrics.memorization import normalised_pixels

    rng = np.random.default_rng(0)
    img = rng.integers(60, 120, (1, 28, 28, 1)).astype(np.uint8)
    brighter = (img.astype(int) * 2 + 10).clip(0, 255).astype(np.uint8)
    a, b = normalised_pixels(img), normalised_pixels(brighter)
    assert np.linalg.norm(a - b) < 0.02 and np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    flat1, flat2 = np.full((1, 28, 28), 100, np.uint8), np.full((1, 28, 28), 30, np.uint8)
    # two flat images are identical after normalisation (both all zero): a shape match, not a contrast one
    assert np.linalg.norm(normalised_pixels(flat1) - normalised_pixels(flat2)) < 1e-6


def test_honest_and_blurred_sets_are_not_flagged(splits):
    from medganbench.metrics.memorization import MEMORIZATION_KEYS, memorization_report

    honest = memorization_report(splits["fresh"], splits["bank"], splits["val"])
    assert tuple(honest) == MEMORIZATION_KEYS
    assert not honest["memorized"] and honest["memorized_reason"] is None
    assert honest["near_copy_fraction"] <= honest["calibrated_rate_upper"] + 0.02
    # PneumoniaMNIST's val split holds byte-identical training images; they are context, not tau
    assert honest["tau_pixel"] > 0.1
    for sigma in (0.7, 1.0, 1.5, 2.5):
        blurred = memorization_report(_blur(splits["fresh"], sigma), splits["bank"], splits["val"])
        assert not blurred["memorized"], (sigma, blurred["memorized_reason"])


def test_exact_and_jittered_copies_are_always_flagged(splits):
    from medganbench.metrics.memorization import memorization_report

    bank = splits["bank"]
    rng = np.random.default_rng(1)
    for levels in (0, 2, 3):
        copies = _jitter(bank[rng.choice(len(bank), 300, replace=False)], levels, seed=levels)
        res = memorization_report(copies, bank, splits["val"], other_splits={"test": splits["fresh"]})
        assert res["memorized"], levels
        assert res["near_copy_fraction"] > 0.95 and res["p_value"] < res["alpha"]
        assert str(res["near_copies"]) in res["memorized_reason"] and "binomial" in res["memorized_reason"]
        if levels == 0:
            assert res["exact_duplicates_train"] == 300 and res["exact_duplicate_fraction_train"] == 1.0
    # a small share of copies among honest images: flagged only when the excess is significant
    mixed = np.concatenate([splits["fresh"][:450], bank[:50]])
    assert memorization_report(mixed, bank, splits["val"])["memorized"]
    few = np.concatenate([splits["fresh"][:497], bank[:3]])
    assert not memorization_report(few, bank, splits["val"])["memorized"]


def test_bad_inputs_name_the_problem(splits):
    from medganbench.metrics.memorization import memorization_report

    with pytest.raises(ConfigError, match="uint8"):
        memorization_report(splits["fresh"].astype(np.float32), splits["bank"], splits["val"])
    with pytest.raises(ConfigError, match="never saw"):
        memorization_report(splits["fresh"], splits["bank"], splits["bank"][:20])
    with pytest.raises(ConfigError, match="alpha"):
        memorization_report(splits["fresh"], splits["bank"], splits["val"], alpha=0.0)


def test_shared_pixel_neighbours_change_nothing(splits):
    """The benchmark searches the pixel neighbours once for the test and the picture: same numbers, same picture."""
    import matplotlib.pyplot as plt

    from medganbench.metrics.memorization import closest_pairs_figure, memorization_report, pixel_neighbours

    gen, bank = splits["fresh"][:100], splits["bank"][:1000]
    shared = pixel_neighbours(gen, bank)
    assert memorization_report(gen, bank, splits["val"], neighbours={"pixel": shared}) == \
        memorization_report(gen, bank, splits["val"])
    titles = []
    for kwargs in ({}, {"neighbours": shared}):
        fig = closest_pairs_figure(gen, bank, n=4, **kwargs)
        titles.append([ax.get_title() for ax in fig.axes])  # each pair's distance, closest first
        plt.close(fig)
    assert titles[0] == titles[1] and "nRMS" in titles[0][0]
    with pytest.raises(ConfigError, match="99 distances for 100"):
        memorization_report(gen, bank, splits["val"], neighbours={"pixel": (shared[0][:99], shared[1][:99])})
