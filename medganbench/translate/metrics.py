"""Paired-translation metrics (PSNR, SSIM, MAE) and the classical baselines a model must beat.

All functions take images as ``uint8 (N, H, W, C)`` in ``[0, 255]`` or float in ``[0, 1]``
(any float array is taken to be in ``[0, 1]``) and score them on the ``[0, 1]`` scale:

- PSNR (dB) per image, ``10 log10(1 / MSE)``, averaged over images; an image with MSE below
  ``1e-10`` counts as 100 dB so identical images give a finite number.
- SSIM per image (Wang et al., 2004, IEEE TIP 13(4)): Gaussian window sigma 1.5, K1 0.01,
  K2 0.03, data range 1, averaged over images (``skimage.metrics.structural_similarity``).
- MAE: mean absolute error over all pixels, in ``[0, 1]`` units.

Baselines (:func:`baseline_outputs`): the degraded input itself (always), a Gaussian filter and
non-local means (Buades et al., 2005, CVPR) for denoising, bicubic up-sampling for super-resolution
(which *is* the super-resolution input), and for magnitude MR non-local means followed by the
Rician bias correction (``nlm_rician``), because the noise floor of a magnitude image is a bias no
zero-mean filter removes. Filter strengths are tuned on the **val** split, never
on test. Notebook 07 shows them side by side with the models.
"""

from __future__ import annotations

import numpy as np

from medganbench.imageconv import to_unit  # noqa: F401  (re-exported: to_unit's owner is imageconv)

PSNR_CAP_MSE = 1e-10
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "mae": False}


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p, t = to_unit(pred), to_unit(target)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} != target shape {t.shape}")
    if p.ndim == 3:
        p, t = p[..., None], t[..., None]
    return p, t


def psnr_per_image(pred, target) -> np.ndarray:
    """PSNR in dB of each image, ``(N,)``."""
    p, t = _pair(pred, target)
    mse = np.mean((p - t) ** 2, axis=(1, 2, 3))
    return 10.0 * np.log10(1.0 / np.maximum(mse, PSNR_CAP_MSE))


def psnr(pred, target) -> float:
    """Mean PSNR (dB) over images; data range 1 on the ``[0, 1]`` scale."""
    return float(np.mean(psnr_per_image(pred, target)))


def ssim_per_image(pred, target) -> np.ndarray:
    """SSIM of each image, ``(N,)`` (channels averaged)."""
    from skimage.metrics import structural_similarity

    p, t = _pair(pred, target)
    return np.array([
        structural_similarity(t[i], p[i], data_range=1.0, channel_axis=-1, gaussian_weights=True,
                              sigma=1.5, use_sample_covariance=False)
        for i in range(len(p))
    ])


def ssim(pred, target) -> float:
    """Mean SSIM over images (Wang et al., 2004), in ``[-1, 1]``, 1 = identical."""
    return float(np.mean(ssim_per_image(pred, target)))


def mae(pred, target) -> float:
    """Mean absolute error on the ``[0, 1]`` scale."""
    p, t = _pair(pred, target)
    return float(np.mean(np.abs(p - t)))


def paired_metrics(pred, target) -> dict[str, float]:
    """``{"psnr", "ssim", "mae"}`` of ``pred`` against ``target`` (constant keys)."""
    return {"psnr": psnr(pred, target), "ssim": ssim(pred, target), "mae": mae(pred, target)}


# --- baselines ----------------------------------------------------------------------------------

GAUSSIAN_SIGMAS = (0.5, 0.75, 1.0, 1.5, 2.0)
NLM_STRENGTHS = (0.02, 0.04, 0.06, 0.08, 0.12, 0.16)  # h on the [0, 1] scale


def gaussian_filter(images, sigma: float) -> np.ndarray:
    """Gaussian blur of each image (float ``[0, 1]`` in, float out), ``(N, H, W, C)``."""
    from scipy.ndimage import gaussian_filter as gf

    x = to_unit(images)
    return np.stack([gf(im, sigma=(sigma, sigma, 0)) for im in x])


def nl_means(images, strength: float) -> np.ndarray:
    """Non-local means of each image with filter strength ``h = strength`` on the ``[0, 1]`` scale.

    3x3 patches, 11x11 search window. ``h`` is tuned on the val split (:func:`tune_baselines`)
    rather than set from the known noise level, so the baseline never sees an oracle.
    """
    from skimage.restoration import denoise_nl_means

    x = to_unit(images)
    out = [denoise_nl_means(im, h=strength, patch_size=3, patch_distance=5, fast_mode=True, channel_axis=-1)
           for im in x]
    return np.clip(np.stack(out).reshape(x.shape), 0.0, 1.0)


RICIAN_FLOORS = (0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08)


def rician_bias_correction(images, sigma: float) -> np.ndarray:
    """Remove the Rician noise floor of a magnitude image: ``sqrt(max(x^2 - 2 sigma^2, 0))``.

    The conventional second-moment correction (Gudbjartsson & Patz, 1995, Magn Reson Med 34(6)):
    ``E[M^2] = A^2 + 2 sigma^2`` for a Rician magnitude ``M`` of true amplitude ``A``. A zero-mean
    filter (Gaussian, non-local means) cannot remove this bias, which dominates the dark background.
    """
    x = to_unit(images)
    return np.sqrt(np.maximum(x * x - 2.0 * sigma * sigma, 0.0))


def _tune(fn, values, val_inputs, val_targets) -> float:
    """The value of the filter parameter with the best val PSNR."""
    scores = [psnr(fn(val_inputs, v), val_targets) for v in values]
    return float(values[int(np.argmax(scores))])


_TUNED: dict[tuple, dict] = {}


def tune_baselines(task: str, val_inputs, val_targets) -> dict[str, float]:
    """Filter parameters chosen on the val split (denoising only; memoised per task and data).

    ``{"gaussian": sigma, "nlm": h}``; for magnitude MR (``denoise-mr``) also ``"rician_floor"``:
    the sigma of :func:`rician_bias_correction` applied after the tuned non-local means.
    """
    if not task.startswith("denoise"):
        return {}
    import hashlib

    key = (task, hashlib.sha1(np.ascontiguousarray(val_inputs).tobytes()
                              + np.ascontiguousarray(val_targets).tobytes()).hexdigest())
    if key not in _TUNED:
        params = {"gaussian": _tune(gaussian_filter, GAUSSIAN_SIGMAS, val_inputs, val_targets),
                  "nlm": _tune(nl_means, NLM_STRENGTHS, val_inputs, val_targets)}
        if task == "denoise-mr":
            smoothed = nl_means(val_inputs, params["nlm"])
            params["rician_floor"] = _tune(rician_bias_correction, RICIAN_FLOORS, smoothed, val_targets)
        _TUNED[key] = params
    return dict(_TUNED[key])


def baseline_outputs(task: str, inputs, params: dict[str, float]) -> dict[str, np.ndarray]:
    """Each baseline's output (float ``[0, 1]``, same shape as ``inputs``), by name.

    ``input`` (denoising) or ``bicubic`` (super-resolution; the task input is already the bicubic
    up-sample) is always present; denoising adds ``gaussian`` and ``nlm`` with ``params`` from
    :func:`tune_baselines`.
    """
    x = to_unit(inputs)
    if task.startswith("superres"):
        return {"bicubic": x}
    out = {"input": x}
    if "gaussian" in params:
        out["gaussian"] = gaussian_filter(x, params["gaussian"])
    if "nlm" in params:
        out["nlm"] = nl_means(x, params["nlm"])
        if "rician_floor" in params:
            out["nlm_rician"] = rician_bias_correction(out["nlm"], params["rician_floor"])
    return out


# --- comparing a model with its baselines --------------------------------------------------------

def best_baseline(baselines: dict[str, dict[str, float]], metric: str = "psnr") -> str:
    """Name of the baseline with the best value of ``metric``."""
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    return max(baselines, key=lambda name: sign * baselines[name][metric])


def gain_over_baseline(model: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """Improvement per metric, signed so that positive = the model is better (MAE gain = baseline - model)."""
    return {m: (model[m] - baseline[m]) if up else (baseline[m] - model[m]) for m, up in HIGHER_IS_BETTER.items()}


def summarize_seeds(per_seed_gains: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (0 for one seed) of each gain over seeds."""
    out = {}
    for m in HIGHER_IS_BETTER:
        vals = np.array([g[m] for g in per_seed_gains], dtype=np.float64)
        out[m] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                  "n_seeds": len(vals)}
    return out


def verdict(gain_psnr_mean: float, gain_psnr_std: float = 0.0) -> str:
    """Plain words: ``beats the best baseline`` only when the mean PSNR gain exceeds its spread."""
    if gain_psnr_mean > max(gain_psnr_std, 0.0):
        return "beats the best baseline"
    if gain_psnr_mean > 0:
        return "ahead of the best baseline, within the spread over seeds"
    return "does not beat the best baseline"
