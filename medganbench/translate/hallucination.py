"""Checks for the main risk of translation GANs: inventing or removing anatomy ("hallucination").

Two checks, both on images in ``[0, 1]`` (``uint8`` is divided by 255), shape ``(N, H, W, 1)``:

1. A planted lesion (:func:`plant_lesion`): a small bright disc is added to the *clean* image before
   the degradation; :func:`lesion_contrast_kept` measures how much of the disc's contrast against its
   surrounding ring survives in the output (1 = kept, 0 = erased, > 1 = exaggerated). A denoiser
   trained on healthy slices may smooth away a small finding it has never seen.
2. A change map (:func:`structure_change_map`): pixels the model moved by more than ``k`` noise
   standard deviations away from its input. Removing noise moves pixels by about one sigma; moves far
   beyond that are the model adding or removing structure and deserve a look.

Taught in notebook 07 (``notebooks/07_image_translation.ipynb``).
"""

from __future__ import annotations

import numpy as np

from medganbench.imageconv import to_unit


def disc_masks(size: int, centre: tuple[int, int], radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(disc, ring) boolean masks ``(size, size)``: the lesion and a ring of width ``radius`` around it."""
    yy, xx = np.mgrid[:size, :size]
    d = np.hypot(yy - centre[0], xx - centre[1])
    return d <= radius, (d > radius + 1) & (d <= 2 * radius + 1)


def plant_lesion(clean, centre: tuple[int, int], radius: float = 2.5, contrast: float = 0.25):
    """Add a bright disc of ``contrast`` (``[0, 1]`` scale) to every image -> (images float ``[0, 1]``, disc, ring)."""
    x = to_unit(clean).copy()
    disc, ring = disc_masks(x.shape[1], centre, radius)
    x[:, disc, :] = np.clip(x[:, disc, :] + contrast, 0.0, 1.0)
    return x, disc, ring


def lesion_contrast_kept(output, reference, disc: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Per image: (disc mean - ring mean) of ``output`` divided by the same for ``reference`` (``(N,)``)."""
    out, ref = to_unit(output)[..., 0], to_unit(reference)[..., 0]
    c_out = out[:, disc].mean(1) - out[:, ring].mean(1)
    c_ref = ref[:, disc].mean(1) - ref[:, ring].mean(1)
    return c_out / np.where(np.abs(c_ref) < 1e-6, np.nan, c_ref)


def structure_change_map(output, model_input, sigma: float, k: float = 3.0) -> np.ndarray:
    """Boolean ``(N, H, W)``: where ``|output - input| > k * sigma`` (changes too large to be noise removal)."""
    return np.abs(to_unit(output) - to_unit(model_input))[..., 0] > k * sigma
