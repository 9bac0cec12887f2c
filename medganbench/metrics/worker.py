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
(``fid_features_to_statistics``, ``fid_statistics_to_metric``, ``kid_features_to_metric``,
``prc_features_to_metric``, ``isc_features_to_metric``) with the 0.4.0 conventions: input 1 is the
generated set, input 2 the real set.

``inception_features`` (args: ``images`` .npy of ``uint8 (N, H, W, C)``, ``weights`` path,
``out`` folder, ``batch_size``, ``device``) -> writes ``pool.npy`` float64 ``(N, 2048)`` and
``logits.npy`` float64 ``(N, 1008)`` (``logits_unbiased``, what torch-fidelity's Inception Score
uses). Preprocessing is torch-fidelity's: grey images are replicated to 3 channels (``C=1 -> 3``),
then ``uint8 B×3×H×W`` goes into its InceptionV3, which resizes to 299×299 with TensorFlow-1.x
compatible bilinear interpolation (``interpolate_bilinear_2d_like_tensorflow1x``) and scales to
``[-1, 1]`` with ``(x - 128) / 128``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np

# torch-fidelity's default for precision/recall batches; kept explicit so results never depend on it.
PRC_BATCH_SIZE = 10000


def _import_torch():
    # triton is only needed by torch.compile; blocking it makes the worker start ~1.5 s faster and
    # keeps the LLVM clash impossible even if someone imports TensorFlow in here by accident.
    if "triton" not in sys.modules and not os.environ.get("MEDGANBENCH_WORKER_ALLOW_TRITON"):
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


def _fid(torch, a: np.ndarray, b: np.ndarray) -> float:
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    s1 = fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)))
    s2 = fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float64)))
    return float(fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"])


def op_fidelity(args: dict) -> dict:
    torch = _import_torch()
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    real = np.load(args["real"]).astype(np.float64, copy=False)
    fake = np.load(args["fake"]).astype(np.float64, copy=False)
    heldout = np.load(args["heldout"]).astype(np.float64, copy=False) if args.get("heldout") else None
    seed = int(args.get("seed", 0))
    rng = np.random.default_rng(seed)
    out: dict = {}

    if args.get("compute_fid", True):
        out["fid"] = _fid(torch, fake, real)
        n_boot = int(args.get("bootstrap", 0))
        boots = []
        for _ in range(n_boot):
            # Resample both sets: the spread then covers the sampling noise of the reference too.
            ri = rng.integers(0, len(real), len(real))
            fi = rng.integers(0, len(fake), len(fake))
            boots.append(_fid(torch, fake[fi], real[ri]))
        out["fid_bootstrap_values"] = boots
    if heldout is not None and args.get("compute_floor", True):
        n = min(len(fake), len(heldout))
        hi = np.sort(rng.choice(len(heldout), n, replace=False))
        fi = np.sort(rng.choice(len(fake), n, replace=False))
        out["fid_floor"] = _fid(torch, heldout[hi], real)
        out["fid_at_floor_n"] = _fid(torch, fake[fi], real)
        out["fid_floor_n"] = int(n)

    t_fake = torch.from_numpy(np.ascontiguousarray(fake))
    t_real = torch.from_numpy(np.ascontiguousarray(real))
    kid = kid_features_to_metric(
        t_fake, t_real,
        kid_subsets=int(args["kid_subsets"]), kid_subset_size=int(args["kid_subset_size"]),
        rng_seed=seed, verbose=False,
    )
    out["kid_mean"] = kid["kernel_inception_distance_mean"]
    out["kid_std"] = kid["kernel_inception_distance_std"]

    prc = prc_features_to_metric(
        t_fake, t_real, prc_neighborhood=int(args["prc_neighborhood"]), prc_batch_size=PRC_BATCH_SIZE,
        save_cpu_ram=True, verbose=False,
    )
    out.update(precision=float(prc["precision"]), recall=float(prc["recall"]), f_score=float(prc["f_score"]))

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
    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
