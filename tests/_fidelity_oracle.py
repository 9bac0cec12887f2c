"""The metrics worker's fidelity statistics as first written for protocol 2.0 (``medganbench/metrics/worker.py``
at commit 3479b77), kept VERBATIM as the oracle of the faster worker: one kernel/statistic/FID per draw, straight
torch-fidelity calls. ``tests/test_metrics_fidelity.py::test_fast_worker_equals_the_protocol_2_reference`` runs
this module as a torch-only subprocess (``python tests/_fidelity_oracle.py``), computes both on fixed inputs and
prints the largest relative difference per key; the speed-up must not change a number.

Do not edit the functions below (they define "the same result"); only ``main`` is the harness.
"""
# ruff: noqa

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np

PRC_BATCH_SIZE = 10000


def _import_torch():
    sys.modules.setdefault("triton", None)
    import torch

    return torch


def _fid(torch, a: np.ndarray, b: np.ndarray) -> float:
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    s1 = fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)))
    s2 = fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float64)))
    return float(fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"])


class _KID:
    """torch-fidelity's KID arithmetic (``kernel_poly`` + ``mmd2``, its defaults: cubic kernel, gamma = 1/D,
    coef0 = 1) on sub-blocks of kernel matrices computed once, so hundreds of subset draws cost index
    sums instead of new kernels. The subset of rows of a kernel matrix IS the kernel of the subset, so
    ``kid(...)`` equals ``kid_features_to_metric`` with the same seed (tested).

    ``ref``: the reference features; its kernel is kept between requests (the worker serves a whole
    notebook or test module, which scores many sets against one reference).
    """

    _cache: dict = {}
    #: Above this many rows a set's kernel is computed per subset instead of once (memory: n² doubles).
    FULL_KERNEL_MAX = 6000

    def __init__(self, ref: np.ndarray):
        from torch_fidelity.metric_kid import kernel_poly

        self.ref = ref
        key = (ref.shape, hash(ref.tobytes()))
        if key not in _KID._cache:
            _KID._cache.clear()
            _KID._cache[key] = kernel_poly(ref, ref) if len(ref) <= self.FULL_KERNEL_MAX else None
        self.k_rr = _KID._cache[key]
        self._sets: dict = {}

    def _kernels(self, a: np.ndarray):
        from torch_fidelity.metric_kid import kernel_poly

        key = id(a)
        if key not in self._sets:
            full = len(a) <= self.FULL_KERNEL_MAX and self.k_rr is not None
            self._sets[key] = (a, kernel_poly(a, a) if full else None, kernel_poly(a, self.ref) if full else None)
        return self._sets[key]

    def mmd(self, a: np.ndarray, ia: np.ndarray, ir: np.ndarray) -> float:
        """Unbiased MMD² of rows ``ia`` of ``a`` against rows ``ir`` of the reference (equal sizes)."""
        from torch_fidelity.metric_kid import kernel_poly, mmd2

        a, k_aa, k_ar = self._kernels(a)
        if k_aa is None:
            x, y = a[ia], self.ref[ir]
            return float(mmd2(kernel_poly(x, x), kernel_poly(x, y), kernel_poly(y, y)))
        return float(mmd2(k_aa[np.ix_(ia, ia)], k_ar[np.ix_(ia, ir)], self.k_rr[np.ix_(ir, ir)]))

    def kid(self, a: np.ndarray, rows: np.ndarray | None, subset_size: int, subsets: int, seed: int
            ) -> tuple[float, float]:
        """KID of ``a[rows]`` (all rows when None) against the reference: mean and std over ``subsets``
        draws of ``subset_size`` rows from each, drawn exactly as ``kid_features_to_metric(rng_seed=seed)``."""
        rows = np.arange(len(a)) if rows is None else np.asarray(rows)
        rng = np.random.RandomState(int(seed))
        vals = np.empty(int(subsets))
        for i in range(int(subsets)):
            ia = rows[rng.choice(len(rows), subset_size, replace=False)]
            ir = rng.choice(len(self.ref), subset_size, replace=False)
            vals[i] = self.mmd(a, ia, ir)
        return float(vals.mean()), float(vals.std())


def _rows(rng, x: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` rows of ``x`` drawn without replacement (all rows when ``n >= len(x)``)."""
    if n >= len(x):
        return np.arange(len(x))
    return np.sort(rng.choice(len(x), int(n), replace=False))


def _sub(rng, x: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows of ``x`` drawn without replacement (all rows, in order, when ``n >= len(x)``)."""
    return x[_rows(rng, x, n)]


def _boot(rng, x: np.ndarray, n: int) -> np.ndarray:
    return x[rng.integers(0, len(x), int(n))]


def _prdc(torch, fake: np.ndarray, real: np.ndarray, k: int) -> dict:
    """Precision/recall (torch-fidelity's ``prc_features_to_metric``) and density/coverage (Naeem et al.
    2020, as in the ``prdc`` package: strict ``<`` against each real image's k-th-neighbour radius)."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    f = torch.from_numpy(np.ascontiguousarray(fake))
    r = torch.from_numpy(np.ascontiguousarray(real))
    prc = prc_features_to_metric(f, r, prc_neighborhood=int(k), prc_batch_size=PRC_BATCH_SIZE, save_cpu_ram=True,
                                 verbose=False)
    radii = torch.cdist(r, r).kthvalue(int(k) + 1, dim=1).values  # k-th neighbour, the point itself excluded
    inside = torch.cdist(r, f) < radii[:, None]                    # (N_real, N_fake)
    density = float(inside.sum().item()) / (int(k) * len(fake))
    coverage = float(inside.any(dim=1).float().mean().item())
    return {"precision": float(prc["precision"]), "recall": float(prc["recall"]), "density": density,
            "coverage": coverage}


def _centred_interval(point: float, draws, low_clip: float | None) -> tuple[float | None, float | None]:
    """95 % interval ``point + percentiles(draws - mean(draws))``, clipped at ``low_clip`` (the range's end)."""
    d = np.asarray(draws, dtype=np.float64)
    if len(d) < 2 or point is None:
        return None, None
    lo, hi = np.percentile(d - d.mean(), [2.5, 97.5]) + point
    if low_clip is not None:
        lo, hi = max(lo, low_clip), max(hi, low_clip)
    return float(lo), float(hi)


def _kid_block(torch, real, fake, heldout, args, rng) -> dict:
    """KID, its floor (held-out real at the same n) and ``kid_excess`` with a paired interval.

    KID is unbiased, so its mean does not depend on n; its spread does. Floor range: KID of held-out
    subsets of ``b = n·N/(n+N)`` images (N = pool size), whose spread conditional on the pool matches a
    fresh n-image set's for KID's linear term (and exceeds it near the null, where KID's spread falls
    like 1/n), combined with the floor estimate's own spread (the pool's half-samples). Excess interval: paired half-samples: draw k
    takes half of min(n, N) generated and as many held-out images and scores both against the SAME
    reference subsets (same seed, same sizes), so the reference's noise cancels in the difference.
    """
    seed, draws, sub_n = int(args.get("seed", 0)), int(args["draws"]), int(args["draw_kid_subsets"])
    cap = int(args["kid_subset_size"])
    n, n_ref = len(fake), len(real)
    out: dict = {}
    kid = _KID(real)
    out["kid_mean"], out["kid_std"] = kid.kid(fake, None, cap, int(args["kid_subsets"]), seed)
    if heldout is None:
        return out
    pool = len(heldout)
    b = max(2, int(round(n * pool / (n + pool))))
    floor = [kid.kid(heldout, _rows(rng, heldout, b), min(cap, b, n_ref), sub_n, seed + 1 + k)[0]
             for k in range(draws)]
    h = max(2, min(n, pool) // 2)
    gen_half, held_half = [], []
    for k in range(draws):
        s = min(cap, h, n_ref)
        gen_half.append(kid.kid(fake, _rows(rng, fake, h), s, sub_n, seed + 1000 + k)[0])
        held_half.append(kid.kid(heldout, _rows(rng, heldout, h), s, sub_n, seed + 1000 + k)[0])
    floor_mean = float(np.mean(held_half + floor))  # every draw estimates the same (unbiased) mean
    out.update(kid_floor_mean=floor_mean, kid_floor_n=b, kid_floor_draws=floor)
    # The range a fresh real n-image set falls in, around the ESTIMATED floor: its own spread (the b-draws)
    # plus the floor estimate's (the pool's half-samples), simulated as a difference of centred draws.
    fresh_minus_estimate = (np.asarray(floor) - np.mean(floor)) - (np.asarray(held_half) - np.mean(held_half))
    # A prediction range of an unbiased ESTIMATE (negative half the time for real data): not clipped.
    out["kid_floor_low"], out["kid_floor_high"] = _centred_interval(floor_mean, fresh_minus_estimate, None)
    out["kid_ci_low"], out["kid_ci_high"] = _centred_interval(out["kid_mean"], gen_half, 0.0)
    out["kid_excess"] = out["kid_mean"] - floor_mean
    diffs = np.asarray(gen_half) - np.asarray(held_half)
    lo, hi = _centred_interval(out["kid_excess"], diffs, -max(floor_mean, 0.0))
    # The excess is bounded below by -floor (KID >= 0), but KID's unbiased estimate can itself be slightly
    # negative: the interval then still holds its own estimate.
    out["kid_excess_ci_low"], out["kid_excess_ci_high"] = min(lo, out["kid_excess"]), max(hi, out["kid_excess"])
    out["kid_half_n"] = h
    return out


def _fid_block(torch, real, fake, heldout, args, rng) -> dict:
    """FID on every image, at the fixed N, FID-infinity, and the floor / ``fid_excess`` at matched n."""
    out: dict = {}
    n, draws = len(fake), int(args["draws"])
    n_min, fixed_n = int(args["fid_min_n"]), int(args["fid_fixed_n"])
    if not args.get("compute_fid", True):
        return out
    out["fid"] = _fid(torch, fake, real)
    boots = [_fid(torch, _boot(rng, fake, n), _boot(rng, real, len(real))) for _ in range(int(args.get("bootstrap", 0)))]
    # Resampling with replacement duplicates images, which alone raises FID: shift the bootstrap back
    # onto the estimate (bias-shifted percentile), and FID cannot be negative.
    out["fid_ci_low"], out["fid_ci_high"] = _centred_interval(out["fid"], boots, 0.0)
    out["fid_bootstrap"] = len(boots)
    if n >= fixed_n:
        out["fid_at_fixed_n"] = float(np.mean([_fid(torch, _sub(rng, fake, fixed_n), real)
                                               for _ in range(1 if n == fixed_n else min(draws, 10))]))
    lowest = max(n_min, real.shape[1] + 2)
    if n >= 2 * lowest:
        # Chong & Forsyth 2020: FID_N is linear in 1/N; the intercept is the bias-free FID-infinity.
        ns = np.unique(np.linspace(lowest, n, 8).astype(int))
        vals = [np.mean([_fid(torch, _sub(rng, fake, m), real) for _ in range(2)]) for m in ns]
        slope, intercept = np.polyfit(1.0 / ns, vals, 1)
        out["fid_inf"] = max(0.0, float(intercept))
        out["fid_inf_ns"] = [int(m) for m in ns]
    if heldout is not None and args.get("compute_floor", False):
        m = min(n, len(heldout))
        floor = float(np.mean([_fid(torch, _sub(rng, heldout, m), real) for _ in range(1 if m == len(heldout) else 5)]))
        at_n = float(np.mean([_fid(torch, _sub(rng, fake, m), real) for _ in range(1 if m == n else 5)]))
        f_b, d_b = [], []
        for _ in range(int(args.get("bootstrap", 0))):
            r = _boot(rng, real, len(real))  # one reference resample shared by both arms: paired
            hf = _fid(torch, _boot(rng, heldout, m), r)
            f_b.append(hf)
            d_b.append(_fid(torch, _boot(rng, fake, m), r) - hf)
        out.update(fid_floor=floor, fid_at_floor_n=at_n, fid_floor_n=int(m), fid_excess=at_n - floor)
        out["fid_floor_low"], out["fid_floor_high"] = _centred_interval(floor, f_b, 0.0)
        out["fid_excess_ci_low"], out["fid_excess_ci_high"] = _centred_interval(at_n - floor, d_b, -floor)
    return out


def _prdc_block(torch, real, fake, heldout, args, rng) -> dict:
    """Precision/recall/density/coverage at equal n (mean of draws), with real-vs-real at the same n."""
    k = int(args["prc_neighborhood"])
    n_eq = min(len(fake), len(real), len(heldout) if heldout is not None else len(fake))
    draws = max(10, int(args["draws"]) // 3)
    gen, rr = [], []
    for _ in range(draws):
        ref = _sub(rng, real, n_eq)
        gen.append(_prdc(torch, _sub(rng, fake, n_eq), ref, k))
        if heldout is not None:
            rr.append(_prdc(torch, _sub(rng, heldout, n_eq), ref, k))
    out = {key: float(np.mean([g[key] for g in gen])) for key in gen[0]}
    out["f_score"] = 2 * out["precision"] * out["recall"] / max(1e-5, out["precision"] + out["recall"])
    for key in ("precision", "recall", "density", "coverage"):
        out[f"{key}_std"] = float(np.std([g[key] for g in gen]))
        if rr:
            out[f"{key}_real"] = float(np.mean([g[key] for g in rr]))
    out.update(prdc_n=int(n_eq), prdc_draws=draws)
    return out


def op_fidelity(args: dict) -> dict:
    torch = _import_torch()
    from torch_fidelity.metric_isc import isc_features_to_metric

    real = np.load(args["real"]).astype(np.float64, copy=False)
    fake = np.load(args["fake"]).astype(np.float64, copy=False)
    heldout = np.load(args["heldout"]).astype(np.float64, copy=False) if args.get("heldout") else None
    seed = int(args.get("seed", 0))
    # One generator per block, each from the seed: a block's numbers do not depend on the others'.
    out: dict = {}
    out.update(_kid_block(torch, real, fake, heldout, args, np.random.default_rng([seed, 1])))
    out.update(_fid_block(torch, real, fake, heldout, args, np.random.default_rng([seed, 2])))
    out.update(_prdc_block(torch, real, fake, heldout, args, np.random.default_rng([seed, 3])))

    if args.get("fake_logits"):
        logits = np.load(args["fake_logits"]).astype(np.float64, copy=False)
        isc = isc_features_to_metric(torch.from_numpy(np.ascontiguousarray(logits)),
                                     splits=max(1, min(int(args.get("isc_splits", 10)), len(logits))),
                                     shuffle=True, rng_seed=seed)
        out["isc_mean"] = isc["inception_score_mean"]
        out["isc_std"] = isc["inception_score_std"]
    return out




# --- harness -------------------------------------------------------------------------------------

def _compare(old: dict, new: dict) -> dict:
    """{key: relative difference} (0.0 = equal; "mismatch" for a value of another kind or a missing key)."""
    diffs = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            pairs = list(zip(a, b))
        else:
            pairs = [(a, b)]
        worst = 0.0
        for x, y in pairs:
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
                worst = max(worst, abs(x - y) / max(abs(x), 1e-12) if x != y else 0.0)
            elif x != y:
                worst = "mismatch"
                break
        diffs[key] = worst
    return diffs


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from medganbench.metrics import worker

    torch = _import_torch()
    rng = np.random.default_rng(7)
    d = 8
    real = rng.standard_normal((400, d))
    heldout = rng.standard_normal((150, d))
    fake = 0.3 + 1.2 * rng.standard_normal((600, d))
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, x in (("real", real), ("heldout", heldout), ("fake", fake)):
            np.save(os.path.join(tmp, f"{name}.npy"), x)
        args = {"real": os.path.join(tmp, "real.npy"), "fake": os.path.join(tmp, "fake.npy"),
                "heldout": os.path.join(tmp, "heldout.npy"), "compute_fid": True, "compute_floor": True,
                "bootstrap": 20, "seed": 3, "draws": 6, "draw_kid_subsets": 5, "kid_subset_size": 100,
                "kid_subsets": 20, "prc_neighborhood": 3, "fid_min_n": 80, "fid_fixed_n": 80}
        # the reference's kernel paths: every kernel whole (default), the generated set per subset, the reference too
        for label, full_max in (("whole kernels", 6000), ("generated per subset", 500), ("reference per subset", 300)):
            _KID._cache.clear()
            _KID.FULL_KERNEL_MAX = full_max
            report[label] = _compare(op_fidelity(args), worker.op_fidelity(args))
    from torch_fidelity.metric_kid import kernel_poly

    x, y = rng.standard_normal((300, 32)), rng.standard_normal((200, 32))
    report["kernel"] = {"kernel_poly": float(np.max(np.abs(worker._kernel(x, y) / kernel_poly(x, y) - 1)))}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
