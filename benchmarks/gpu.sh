#!/usr/bin/env bash
# The kit's GPU measurement, in one command (about 10 minutes on one GPU):
#   1. training throughput, kit vs keras.io-style references, GPU variants (float16, XLA) included;
#   2. quality of the fastest kit setting vs float32: cdcgan, quick-budget training (1,500 steps), 2,000
#      samples, evaluation without the augmentation study -> the benchmark's domain FID and its interval;
#   3. one `medganbench bench --budget quick` run (the README's main job), timed;
#   4. one Markdown table, OUT/gpu.md, for the README's measurement table.
#
# usage: bash benchmarks/gpu.sh [--dry-run] [--cpu-smoke] [OUT]        (OUT default: runs/gpu-measurement)
#   --dry-run    print the commands without running them
#   --cpu-smoke  run the same steps tiny and on whatever device there is (MEDGANBENCH_SMOKE=1); for tests
# Installs nothing: it needs the kit installed (make install, or pip install -e .) with a TensorFlow that
# sees the GPU, and PneumoniaMNIST in MEDGANBENCH_DATA (or network access for the kit's download).
# PYTHON picks the interpreter (default: python).
set -euo pipefail

PY="${PYTHON:-python}"
OUT="runs/gpu-measurement"
DRY=0
SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    --cpu-smoke) SMOKE=1 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    -*) echo "gpu.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) OUT="$arg" ;;
  esac
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "$SMOKE" = 1 ]; then
  export MEDGANBENCH_SMOKE=1
  THROUGHPUT=(--steps 2 --warmup 1 --rounds 1 --only "kit default,tf.function loop")
  QSTEPS=20; QSAMPLES=300; FAST=bfloat16
else
  THROUGHPUT=(--steps 300 --warmup 20 --rounds 3)
  QSTEPS=1500; QSAMPLES=2000; FAST=float16
fi

run() {  # print, then run unless --dry-run; record the wall time under a name
  local name="$1"; shift
  echo "+ $*"
  [ "$DRY" = 1 ] && return 0
  local t0; t0=$(date +%s)
  "$@"
  echo "$name $(( $(date +%s) - t0 ))" >> "$OUT/times.txt"
}

if [ "$DRY" = 0 ]; then
  mkdir -p "$OUT"
  : > "$OUT/times.txt"
  if [ "$SMOKE" = 0 ] && ! "$PY" -c "import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)"; then
    echo "gpu.sh: TensorFlow sees no GPU (check nvidia-smi and a CUDA build of TensorFlow, e.g. pip install 'tensorflow[and-cuda]'); use --cpu-smoke to try the script on a CPU" >&2
    exit 1
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null || echo "no nvidia-smi" > "$OUT/gpu.txt"
fi

run throughput "$PY" "$HERE/train_throughput.py" "${THROUGHPUT[@]}" --json "$OUT/throughput.json"
for prec in off "$FAST"; do
  run "train_$prec" "$PY" -m medganbench train --model cdcgan --dataset pneumoniamnist --steps "$QSTEPS" --batch-size 64 \
      --seed 0 --mixed-precision "$prec" --out "$OUT/quality-$prec/run" --overwrite --no-progress
  run "sample_$prec" "$PY" -m medganbench sample --run "$OUT/quality-$prec/run" --n "$QSAMPLES" --out "$OUT/quality-$prec/samples.npz"
  run "eval_$prec" "$PY" -m medganbench eval --samples "$OUT/quality-$prec/samples.npz" --out "$OUT/quality-$prec/eval" \
      --no-augmentation --no-progress
done
run bench_quick "$PY" -m medganbench bench --model cdcgan --dataset pneumoniamnist --budget quick --out "$OUT/bench" --no-progress
run report "$PY" "$HERE/gpu_report.py" "$OUT" --output "$OUT/gpu.md"
[ "$DRY" = 1 ] || cat "$OUT/gpu.md"
