"""Pixel ranges, converted in one place.

Three ranges meet in this kit, and every conversion between them lives here (one formula each, so two
modules can never round the same image differently):

============  ======================  ===============================================================
name          dtype / range            used by
============  ======================  ===============================================================
``uint8``     ``uint8 [0, 255]``       data sets, samples files, metrics, pictures
``float``     ``float32 [-1, 1]``      model inputs and outputs (``tanh`` generators)
``unit``      ``float [0, 1]``         translation metrics (PSNR/SSIM/MAE), noise models, DICOM windows
============  ======================  ===============================================================

Images are ``(N, H, W, C)`` (NHWC) unless a function says otherwise; the functions are element-wise, so
any shape works where no layout is checked.
"""

from __future__ import annotations

import numpy as np

from medganbench.errors import ConfigError


def to_float(images_uint8):
    """``uint8 [0, 255]`` -> ``float32 [-1, 1]``, any shape; numpy arrays and TensorFlow tensors alike.

    A numpy array that is not ``uint8`` is refused (a float array here is almost always an image converted
    twice); tensors are cast as they are.
    """
    if isinstance(images_uint8, np.ndarray):
        if images_uint8.dtype != np.uint8:
            raise ConfigError(f"to_float expects uint8 images in [0, 255], got {images_uint8.dtype}; images that "
                              "are already float in [-1, 1] need no conversion.")
        return images_uint8.astype(np.float32) / 127.5 - 1.0
    import tensorflow as tf

    return tf.cast(images_uint8, "float32") / 127.5 - 1.0


def to_uint8(images_float) -> np.ndarray:
    """``float [-1, 1]`` (array or tensor, any shape) -> ``uint8 [0, 255]`` numpy array: rounded, values
    outside the range clipped. Inverse of :func:`to_float` on every ``uint8`` value."""
    x = np.asarray(images_float, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_unit(images, dtype=np.float64) -> np.ndarray:
    """``uint8`` -> ``[0, 1]`` in ``dtype`` (``/ 255``); a float array is returned in ``dtype``, values unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(dtype) / 255.0
    return images.astype(dtype)


def unit_to_uint8(x) -> np.ndarray:
    """``float [0, 1]`` -> ``uint8 [0, 255]``: ``x * 255`` rounded half to even, clipped. Computed in ``x``'s
    own float dtype. Inverse of :func:`to_unit` on every ``uint8`` value."""
    return np.clip(np.rint(np.asarray(x) * 255.0), 0, 255).astype(np.uint8)


def float_to_unit(x) -> np.ndarray:
    """``float [-1, 1]`` (model output) -> ``float64 [0, 1]``, clipped."""
    return np.clip((np.asarray(x, np.float64) + 1.0) / 2.0, 0.0, 1.0)


def model_input(x) -> np.ndarray:
    """A model's input as ``float32 [-1, 1]``: ``uint8`` is converted (:func:`to_float`), float is taken as it is."""
    x = np.asarray(x)
    return to_float(x) if x.dtype == np.uint8 else x.astype(np.float32)


def require_uint8_nhwc(images, what: str = "images") -> np.ndarray:
    """Check ``uint8 (N, H, W)`` or ``(N, H, W, C)`` and return it as ``(N, H, W, C)`` (no copy of the pixels).

    Raises :class:`~medganbench.errors.ConfigError` naming ``what`` for any other dtype or rank.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ConfigError(f"{what} must be uint8 images in [0, 255], got {images.dtype}; convert float [-1, 1] "
                          "images with medganbench.imageconv.to_uint8.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ConfigError(f"{what} must be (N, H, W) or (N, H, W, C), got shape {images.shape}.")
    return images


def as_uint8_nhwc(images) -> np.ndarray:
    """Images for a picture -> ``uint8 (N, H, W, C)`` with ``C`` 1 or 3; float input is read as ``[-1, 1]``
    (values outside are clipped). Raises :class:`~medganbench.errors.ConfigError` for other shapes/dtypes."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ConfigError(f"Expected images (N,H,W) or (N,H,W,C) with C=1 or 3, got shape {x.shape}.")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating):
        return to_uint8(x)
    raise ConfigError(f"Expected uint8 images in [0, 255] or float in [-1, 1], got dtype {x.dtype}.")
