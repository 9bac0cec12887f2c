"""Evaluation speed: features and metrics for 10,000 generated 28 px images on the default extractor.

    MEDGANBENCH_DATA=... python benchmarks/eval_speed.py [--n 10000] [--run runs/x] [--json out.json]

Generates ``--n`` images (from a trained run's generator with ``--run``, else from an untrained DCGAN
generator: the speed of features and metrics does not depend on what the images show), then times

1. one-off costs, cached afterwards: loading (or training) the default domain extractor and the
   reference features of the real splits;
2. the generated images' features on that extractor;
3. the whole evaluation, ``medganbench eval --no-augmentation --inception never`` in-process
   (``evaluate_samples``): features, FID/KID/precision/recall with their intervals, memorization,
   pictures and report. The augmentation study (classifier training) is not part of this figure.

The project's target: step 3 within 60 s on 2 CPU cores. The printout gives the load average, because a
shared machine makes every figure slower; compare figures measured on the same machine only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET_S = 60.0


def generated_images(n: int, size: int, run: str, seed: int):
    """``uint8 (n, size, size, 1)`` images and labels (or None) from ``run``, else an untrained DCGAN."""
    import numpy as np

    if run:
        from medganbench.sample import generate_samples

        return generate_samples(run, n, seed=seed)
    from medganbench.data.pipeline import to_uint8
    from medganbench.models import build

    model = build("dcgan", (size, size, 1), seed=seed)
    z = np.random.default_rng(seed).standard_normal((n, model.config.latent_dim)).astype("float32")
    return to_uint8(model.generator.predict(z, batch_size=500, verbose=0)), None


def _top_kit_functions(profiler, n: int) -> str:
    """The ``n`` medganbench functions with the largest cumulative time, one per line."""
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    rows = [(ct, f"{Path(file).name}:{func}") for (file, _line, func), (_cc, _nc, _tt, ct, _callers)
            in stats.stats.items() if "medganbench" in file and func != "<module>"]
    return "\n".join(f"  {ct:7.1f} s  {name}" for ct, name in sorted(rows, reverse=True)[:n])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="generated images to evaluate")
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--dataset", default="pneumoniamnist")
    p.add_argument("--run", default="", help="a run folder to sample from (default: an untrained DCGAN)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="", help="write the timings to this JSON file")
    args = p.parse_args(argv)

    import numpy as np

    from medganbench.bench.protocol import evaluate_samples
    from medganbench.metrics.domain import get_domain_extractor, reference_features

    load_start = os.getloadavg()[0]
    times = {}
    t = time.perf_counter()
    images, labels = generated_images(args.n, args.size, args.run, args.seed)
    times["generate"] = time.perf_counter() - t

    t = time.perf_counter()
    extractor = get_domain_extractor(args.dataset, args.size, progress=False)
    for split in ("train", "test"):
        reference_features(args.dataset, args.size, split, extractor)
    times["extractor_and_reference_once"] = time.perf_counter() - t

    t = time.perf_counter()
    features = extractor.features(images)
    times["features"] = time.perf_counter() - t

    with tempfile.TemporaryDirectory(prefix="mgb-evalspeed-") as tmp:
        path = Path(tmp) / "samples.npz"
        arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
        np.savez(path, **arrays)
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        result = evaluate_samples(path, args.dataset, args.size, Path(tmp) / "eval", seed=args.seed,
                                  budget="standard", augmentation=False, inception="never", progress=False)
        profiler.disable()
        times["evaluate_total"] = time.perf_counter() - t
        ok = Path(result).is_file()
    load_end = os.getloadavg()[0]
    print(f"{args.n} generated {args.size}px images, extractor {extractor.id} ({features.shape[1]} features); "
          f"{os.cpu_count()} CPUs, load average {load_start:.1f} at start, {load_end:.1f} at end")
    print("| step | seconds |\n|---|---|")
    for name, sec in times.items():
        print(f"| {name} | {sec:.1f} |")
    print("where the evaluation's time goes (cumulative seconds of the kit's own functions; the metrics "
          "worker's time shows as call_worker):")
    print(_top_kit_functions(profiler, 15))
    total = times["evaluate_total"]
    verdict = (f"whole evaluation {total:.1f} s for {args.n} images: "
               + (f"within the {TARGET_S:.0f} s target" if total <= TARGET_S
                  else f"OVER the {TARGET_S:.0f} s target by {total - TARGET_S:.1f} s ({total / TARGET_S:.2f}x)")
               + f" at load average {max(load_start, load_end):.1f} on {os.cpu_count()} CPUs"
               + ("" if ok else " (no result.json written)"))
    print(verdict)
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "size": args.size, "extractor_id": extractor.id,
                                               "cpus": os.cpu_count(), "load_average_start": load_start,
                                               "load_average_end": load_end, "seconds": times,
                                               "verdict": verdict}, indent=2))


if __name__ == "__main__":
    main()
