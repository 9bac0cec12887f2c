"""One Markdown table from the files ``benchmarks/gpu.sh`` wrote into its output folder.

    python benchmarks/gpu_report.py OUT [--output OUT/gpu.md]

Reads ``OUT/throughput.json`` (benchmarks/train_throughput.py --json), ``OUT/times.txt`` (wall seconds per
step), ``OUT/gpu.txt`` (nvidia-smi), ``OUT/quality-*/eval/result.json`` and ``OUT/bench/result.json``.
Anything missing is written as "not measured", with the file it looked for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _find(tree, key):
    """First value of ``key`` anywhere in a nested dict/list (results change shape between protocols)."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for item in tree:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def quality(result_path: Path) -> str:
    """``"domain FID 0.32 [0.18, 0.52]; score ..."`` from a result.json, or why there is none."""
    if not result_path.is_file():
        return f"not measured ({result_path} missing)"
    result = json.loads(result_path.read_text())
    domain = _find(result, "domain") or {}
    fid, lo, hi = (_find(domain, k) for k in ("fid", "fid_ci_low", "fid_ci_high"))
    parts = []
    if isinstance(fid, (int, float)):
        ci = f" [{lo:.3g}, {hi:.3g}]" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) else ""
        parts.append(f"domain FID {fid:.3g}{ci}")
    summary = result.get("summary")
    if isinstance(summary, dict) and summary.get("score") is not None:
        score, lo, hi = summary["score"], summary.get("score_ci_low"), summary.get("score_ci_high")
        ci = f" [{lo:.3g}, {hi:.3g}]" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) else ""
        parts.append(f"score {score:.3g}{ci}" if isinstance(score, (int, float)) else f"score {score}")
    return "; ".join(parts) or "no FID or score in the result"


def build(out: Path) -> str:
    times = {}
    if (out / "times.txt").is_file():
        for line in (out / "times.txt").read_text().splitlines():
            name, _, sec = line.partition(" ")
            if sec.strip().isdigit():
                times[name] = int(sec)
    gpu = (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").is_file() else "unknown device"
    lines = [f"## GPU measurement: {gpu}", ""]
    tp_path = out / "throughput.json"
    if tp_path.is_file():
        tp = json.loads(tp_path.read_text())
        a = tp.get("args", {})
        lines += [f"Training throughput on {tp.get('device', '?')} ({tp.get('device_name', '')}), DCGAN "
                  f"{a.get('size')} px, batch {a.get('batch_size')}, {a.get('steps')} timed steps, "
                  f"{a.get('rounds')} interleaved rounds; ratios against the fastest reference of each round.", "",
                  "| variant | median images/s | spread | × fastest reference |", "|---|---|---|---|"]
        for name, v in tp["variants"].items():
            lines.append(f"| {name} | {v['median']:.0f} | {v['spread_pct']:.0f} % | {v['median_ratio']:.2f}× |")
        lines += ["", tp.get("verdict") or "no kit-default verdict (variants filtered)", ""]
    else:
        lines += [f"Training throughput: not measured ({tp_path} missing)", ""]
    lines += ["| what | measured |", "|---|---|"]
    for q in sorted(out.glob("quality-*")):
        prec = q.name.split("-", 1)[1]
        label = "float32" if prec == "off" else f"mixed {prec}"
        wall = "+".join(str(times[f"{s}_{prec}"]) for s in ("train", "sample", "eval") if f"{s}_{prec}" in times)
        lines.append(f"| quality, cdcgan quick training in {label} | {quality(q / 'eval' / 'result.json')}"
                     f"{f' (train+sample+eval {wall} s)' if wall else ''} |")
    bench = out / "bench" / "result.json"
    wall = f"{times['bench_quick']} s wall; " if "bench_quick" in times else ""
    lines.append(f"| `medganbench bench --budget quick` (cdcgan) | {wall}{quality(bench)} |")
    if "throughput" in times:
        lines.append(f"| throughput benchmark | {times['throughput']} s wall |")
    total = sum(v for k, v in times.items() if k != "report")
    lines.append(f"| whole script | {total} s (target: under 600 s) |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="the folder benchmarks/gpu.sh wrote")
    p.add_argument("--output", default="", help="write the Markdown here (default: print it)")
    args = p.parse_args(argv)
    text = build(Path(args.out))
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
