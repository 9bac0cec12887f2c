"""The metrics worker: the ONLY module of the kit that imports torch and torch-fidelity.

Why a separate process: importing TensorFlow and then torchvision/torch-fidelity/triton in one
process crashes it (two bundled LLVM copies collide), and TensorFlow would hold the GPU memory torch
needs. So the parent (which may have TensorFlow loaded) never imports torch; it starts this module
as ``python -m medganbench.metrics.worker --serve`` and talks to it through
:class:`medganbench.metrics.client.WorkerClient`.

Protocol (one JSON object per line; stdout carries nothing else, every print goes to stderr)::

    parent -> worker  {"id": 1, "op": "fidelity", "args": {...}}
    worker -> parent  {"id": 1, "ok": true, "result": {...}}
                      {"id": 1, "ok": false, "error_type": "WeightsUnavailable", "message": "..."}

Arrays travel as ``.npy`` files in a temporary folder the parent owns; results are plain numbers.

Operations
----------
``ping`` -> versions of torch / torch-fidelity and whether CUDA is available.

``fidelity`` (args: ``real``, ``fake`` .npy paths of float64 ``(N, D)`` features; optional
``heldout``, ``fake_logits``; ``compute_fid``, ``compute_floor``, ``bootstrap``, ``seed``,
``kid_subset_size``, ``kid_subsets``, ``prc_neighborhood``, ``isc_splits``) -> flat dict of numbers,
every one computed by torch-fidelity's own feature-level functions
(``fid_features_to_statistics``, ``fid_statistics_to_metric``, KID's ``kernel_poly`` + ``mmd2``,
``prc_features_to_metric``, ``isc_features_to_metric``) with the 0.4.0 conventions: input 1 is the
generated set, input 2 the real set. Speed without changing a number (protocol 2.0 draws hundreds of
subsets): the reference's FID statistics are computed once, ``kernel_poly``'s cube is two products
(:func:`_kernel`), and numpy's BLAS and torch run on one thread
(:func:`_one_thread`); ``tests/_fidelity_oracle.py`` holds the straightforward version they must equal.

``inception_features`` (args: ``images`` .npy of ``uint8 (N, H, W, C)``, ``weights`` path,
``out`` folder, ``batch_size``, ``device``) -> writes ``pool.npy`` float64 ``(N, 2048)`` and
``logits.npy`` float64 ``(N, 1008)`` (``logits_unbiased``, what torch-fidelity's Inception Score
uses). Preprocessing is torch-fidelity's: grey images are replicated to 3 channels (``C=1 -> 3``),
then ``uint8 B×3×H×W`` goes into its InceptionV3, which resizes to 299×299 with TensorFlow-1.x
compatible bilinear interpolation (``interpolate_bilinear_2d_like_tensorflow1x``) and scales to
``[-1, 1]`` with ``(x - 128) / 128``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback

import numpy as np

# torch-fidelity's default for precision/recall batches; kept explicit so results never depend on it.
PRC_BATCH_SIZE = 10000


#: MEDGANBENCH_WORKER_ALLOW_TRITON, read once by :func:`main` (the worker process's entry).
_ALLOW_TRITON = False


def _import_torch():
    # triton is only needed by torch.compile; blocking it makes the worker start ~1.5 s faster and
    # keeps the LLVM clash impossible even if someone imports TensorFlow in here by accident.
    if "triton" not in sys.modules and not _ALLOW_TRITON:
        sys.modules["triton"] = None  # type: ignore[assignment]
    import torch

    return torch


def _device(torch, requested: str | None) -> str:
    if requested in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was requested but torch sees no CUDA device")
    return requested


def op_ping(args: dict) -> dict:
    torch = _import_torch()
    import torch_fidelity

    return {
        "torch": torch.__version__,
        "torch_fidelity": getattr(torch_fidelity, "__version__", "unknown"),
        "cuda": bool(torch.cuda.is_available()),
        "pid": os.getpid(),
    }


def _stats(torch, x: np.ndarray) -> dict:
    """torch-fidelity's FID statistics (``mu`` ``(D,)``, ``sigma`` ``(D, D)``) of features ``x`` ``(N, D)``."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    return fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)))


def _fid_of(s1: dict, s2: dict) -> float:
    """torch-fidelity's FID of two sets of statistics (:func:`_stats`)."""
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    return float(fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"])


def _fid(torch, a: np.ndarray, b: np.ndarray) -> float:
    return _fid_of(_stats(torch, a), _stats(torch, b))


@contextlib.contextmanager
def _one_thread(torch):
    """Context: numpy's BLAS/LAPACK and torch's CPU ops on one thread while the fidelity statistics run.

    Why: they are thousands of small operations (32 x 32 eigenvalues, 1000 x 1000 kernels, 10,000 x 32
    covariances, 524 x 524 distance matrices). Waking a second thread costs more than such an operation,
    and on a shared machine threads spinning for a busy core cost far more: measured on the 2-core project
    machine, ``torch.cdist`` of 524 x 32 sets took 130 ms with 2 threads and 4.6 ms with one (load
    average 14), 32 x 32 ``eigvals`` 1.36 ms against 0.19 ms and a 1000 x 1000 x 32 product 14.9 ms against
    4.6 ms (load 3.6). The numbers are the same (tests/_fidelity_oracle.py); the thread counts are restored
    afterwards (Inception features want every core).
    """
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """torch-fidelity's KID kernel with its defaults, ``kernel_poly``: ``(x·yᵀ / D + 1)³`` -> ``(len(x), len(y))``.

    The same arithmetic, with the cube as two products: numpy's ``** 3`` calls ``pow()`` per element, about
    5x slower, for a value that differs in the last bit at most (relative 3e-16; tested against
    ``kernel_poly``). Degree 3, gamma = 1/D and coef0 = 1 are torch-fidelity's defaults, which the kit uses.
    """
    k = np.matmul(x, y.T)
    k *= 1.0 / x.shape[1]
    k += 1.0
    cube = k * k
    cube *= k
    return cube


class _KID:
    """torch-fidelity's KID arithmetic (``kernel_poly`` + ``mmd2``, its defaults: cubic kernel, gamma = 1/D,
    coef0 = 1) on subsets of a set against subsets of the reference ``ref`` ``(N, D)``: each draw's three
    kernels are computed from its rows, as ``kid_features_to_metric`` does, so ``kid(...)`` equals it with
    the same seed (tested).

    Why not each set's whole kernel once, indexed per draw (the first protocol 2.0 worker): gathering a
    1000 x 1000 block of a 4708 x 4708 matrix is a million scattered reads, measured 1.8x slower than
    computing the block (a 1000 x 32 x 1000 product and the cube), and the whole kernels cost memory
    and time of their own.
    """

    def __init__(self, ref: np.ndarray):
        self.ref = ref

    def mmd(self, a: np.ndarray, ia: np.ndarray, ir: np.ndarray) -> float:
        """Unbiased MMD² of rows ``ia`` of ``a`` against rows ``ir`` of the reference (equal sizes)."""
        from torch_fidelity.metric_kid import mmd2

        x, y = a[ia], self.ref[ir]
        return float(mmd2(_kernel(x, x), _kernel(x, y), _kernel(y, y)))

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


def _distances(torch, a, b):
    """Euclidean distances ``(len(a), len(b))`` of two feature tensors, in precision/recall's batches
    (torch-fidelity's ``calc_cdist_part``, :data:`PRC_BATCH_SIZE` rows at a time)."""
    from torch_fidelity.metric_prc import calc_cdist_part

    return torch.cat([calc_cdist_part(part, b, PRC_BATCH_SIZE) for part in a.split(PRC_BATCH_SIZE)])


def _radii(torch, x, k: int):
    """Distance of each row of ``x`` to its ``k``-th nearest neighbour in ``x``, the row itself excluded."""
    from torch_fidelity.metric_prc import calc_cdist_part

    return torch.cat([calc_cdist_part(part, x, PRC_BATCH_SIZE).kthvalue(k + 1).values
                      for part in x.split(PRC_BATCH_SIZE)])


def _tensor(torch, x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x))


def _prdc(torch, f, r, k: int, r_radii) -> dict:
    """Precision/recall (torch-fidelity's ``prc_features_to_metric``) and density/coverage (Naeem et al.
    2020, as in the ``prdc`` package: strict ``<`` against each real image's k-th-neighbour radius).

    f, r: generated and real feature tensors; r_radii: ``_radii(torch, r, k)``, shared by every set scored
    against the same real subset. The distances are those of torch-fidelity's
    ``calculate_precision_recall_part``, each computed once for all four metrics (it and the density
    computed ``cdist(r, r)`` and ``cdist(r, f)`` twice).
    """
    d_rf = _distances(torch, r, f)  # (N_real, N_fake)
    recall = (d_rf <= _radii(torch, f, k)).any(dim=1).float().mean().item()
    precision = (_distances(torch, f, r) <= r_radii).any(dim=1).float().mean().item()
    inside = d_rf < r_radii[:, None]
    density = float(inside.sum().item()) / (int(k) * f.shape[0])
    coverage = float(inside.any(dim=1).float().mean().item())
    return {"precision": float(precision), "recall": float(recall), "density": density, "coverage": coverage}


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
    ref = _stats(torch, real)  # the reference's statistics, computed once for every FID against it
    out["fid"] = _fid_of(_stats(torch, fake), ref)
    boots = [_fid(torch, _boot(rng, fake, n), _boot(rng, real, len(real))) for _ in range(int(args.get("bootstrap", 0)))]
    # Resampling with replacement duplicates images, which alone raises FID: shift the bootstrap back
    # onto the estimate (bias-shifted percentile), and FID cannot be negative.
    out["fid_ci_low"], out["fid_ci_high"] = _centred_interval(out["fid"], boots, 0.0)
    out["fid_bootstrap"] = len(boots)
    if n >= fixed_n:
        out["fid_at_fixed_n"] = float(np.mean([_fid_of(_stats(torch, _sub(rng, fake, fixed_n)), ref)
                                               for _ in range(1 if n == fixed_n else min(draws, 10))]))
    lowest = max(n_min, real.shape[1] + 2)
    if n >= 2 * lowest:
        # Chong & Forsyth 2020: FID_N is linear in 1/N; the intercept is the bias-free FID-infinity.
        ns = np.unique(np.linspace(lowest, n, 8).astype(int))
        vals = [np.mean([_fid_of(_stats(torch, _sub(rng, fake, m)), ref) for _ in range(2)]) for m in ns]
        slope, intercept = np.polyfit(1.0 / ns, vals, 1)
        out["fid_inf"] = max(0.0, float(intercept))
        out["fid_inf_ns"] = [int(m) for m in ns]
    if heldout is not None and args.get("compute_floor", False):
        m = min(n, len(heldout))
        floor = float(np.mean([_fid_of(_stats(torch, _sub(rng, heldout, m)), ref) for _ in range(1 if m == len(heldout) else 5)]))
        at_n = float(np.mean([_fid_of(_stats(torch, _sub(rng, fake, m)), ref) for _ in range(1 if m == n else 5)]))
        f_b, d_b = [], []
        for _ in range(int(args.get("bootstrap", 0))):
            r = _stats(torch, _boot(rng, real, len(real)))  # one reference resample shared by both arms: paired
            hf = _fid_of(_stats(torch, _boot(rng, heldout, m)), r)
            f_b.append(hf)
            d_b.append(_fid_of(_stats(torch, _boot(rng, fake, m)), r) - hf)
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
        ref = _tensor(torch, _sub(rng, real, n_eq))
        ref_radii = _radii(torch, ref, k)
        gen.append(_prdc(torch, _tensor(torch, _sub(rng, fake, n_eq)), ref, k, ref_radii))
        if heldout is not None:
            rr.append(_prdc(torch, _tensor(torch, _sub(rng, heldout, n_eq)), ref, k, ref_radii))
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
    with _one_thread(torch):
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


class WeightsUnavailableInWorker(Exception):
    """Reported to the parent as ``WeightsUnavailable`` (the parent raises the kit's own class)."""


def op_inception_features(args: dict) -> dict:
    weights = args.get("weights")
    if not weights or not os.path.isfile(weights):
        raise WeightsUnavailableInWorker(
            f"Inception-v3 weights file {weights!r} does not exist; the parent resolves the path "
            f"(medganbench.metrics.inception.inception_weights_path) before calling the worker."
        )
    torch = _import_torch()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    images = np.load(args["images"])
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"inception_features needs uint8 (N, H, W, 1|3) images, got {images.dtype} {images.shape}")
    device = _device(torch, args.get("device"))
    batch_size = int(args.get("batch_size", 64))
    try:
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                            feature_extractor_weights_path=weights)
    except Exception as exc:  # a truncated or foreign file: say which file, not a pickle traceback
        raise WeightsUnavailableInWorker(f"could not load Inception-v3 weights from {weights}: {exc}") from exc
    model = model.to(device)
    pools, logits = [], []
    progress = bool(args.get("progress", True)) and len(images) > batch_size
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), unit="img", desc="Inception-v3 features", file=sys.stderr)
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            if chunk.shape[-1] == 1:
                chunk = np.repeat(chunk, 3, axis=-1)  # grey -> RGB by replication, as torch-fidelity expects
            x = torch.from_numpy(np.ascontiguousarray(chunk.transpose(0, 3, 1, 2))).to(device)
            pool, logit = model(x)
            pools.append(pool.double().cpu().numpy())
            logits.append(logit.double().cpu().numpy())
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    os.makedirs(args["out"], exist_ok=True)
    np.save(os.path.join(args["out"], "pool.npy"), np.concatenate(pools))
    np.save(os.path.join(args["out"], "logits.npy"), np.concatenate(logits))
    return {"n": len(images), "device": device, "pool_dim": 2048, "logits_dim": int(logits[0].shape[1])}


OPS = {"ping": op_ping, "fidelity": op_fidelity, "inception_features": op_inception_features}


def handle(request: dict) -> dict:
    rid = request.get("id")
    op = request.get("op")
    t0 = time.perf_counter()
    try:
        if op not in OPS:
            raise ValueError(f"unknown worker op {op!r}; known: {sorted(OPS)}")
        result = OPS[op](request.get("args") or {})
        return {"id": rid, "ok": True, "result": result, "seconds": time.perf_counter() - t0}
    except WeightsUnavailableInWorker as exc:
        return {"id": rid, "ok": False, "error_type": "WeightsUnavailable", "message": str(exc)}
    except Exception as exc:  # the parent re-raises it with this text and traceback
        return {"id": rid, "ok": False, "error_type": type(exc).__name__, "message": str(exc),
                "traceback": traceback.format_exc()}


def _warm_up() -> None:
    """Import torch and torch-fidelity before the first request arrives: the parent starts the worker early
    (:func:`medganbench.metrics.client.prestart_worker`), so these seconds overlap its own work. A failure
    here is left to the first op, which reports it as an error reply."""
    try:
        _import_torch()
        import torch_fidelity.metric_fid  # noqa: F401  (imports the package, torchvision with it)
    except Exception:  # noqa: BLE001
        pass


def serve(stdin=None, stdout=None) -> int:
    """Answer requests from ``stdin`` until it closes. Only protocol lines go to ``stdout``."""
    stdin = stdin or sys.stdin
    proto = stdout or sys.stdout
    # Anything torch, tqdm or a library prints must not corrupt the protocol stream.
    sys.stdout = sys.stderr
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            response = {"id": None, "ok": False, "error_type": "ProtocolError", "message": str(exc)}
        else:
            response = handle(request)
        proto.write(json.dumps(response) + "\n")
        proto.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m medganbench.metrics.worker",
                                     description="medganbench metrics worker (torch side). "
                                                 "Reads JSON requests, one per line, on stdin.")
    parser.add_argument("--serve", action="store_true", help="answer requests until stdin closes (default)")
    parser.parse_args(argv)
    global _ALLOW_TRITON
    from medganbench.settings import Settings

    _ALLOW_TRITON = Settings.from_env().worker_allow_triton  # the worker's edge: settings read once, here
    _warm_up()
    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
