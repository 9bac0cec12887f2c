"""What ``"auto"`` means for the training step's speed settings, per device.

One job: turn ``TrainConfig``'s ``"auto"``/``None`` speed fields into concrete values for the device
TensorFlow sees. The choices are measurements, not guesses (``benchmarks/train_throughput.py``,
docs/training.md "Speed"), and each was kept only where the benchmark's quality did not change:

=====================  ===================  ====  ===============================================
device                 precision            XLA   why
=====================  ===================  ====  ===============================================
CPU with AVX512-BF16   mixed ``bfloat16``   off   faster than float32 per step on the project CPU
or AMX-BF16            (checked models)           (docs/training.md); XLA measured 0.7x on CPU
CPU without them       float32 (``off``)    off   no native bfloat16 maths; not measured there
GPU                    float32 (``off``)    on    XLA: the kit's earlier GPU default. float16 is
                                                  NOT the default until ``benchmarks/gpu.sh`` has
                                                  measured its speed and quality on a GPU
=====================  ===================  ====  ===============================================

"checked models" (:data:`BF16_CHECKED_MODELS`): bfloat16 changes the arithmetic, so it is the automatic
choice only for models whose benchmark quality was compared with float32 and found unchanged within its
interval (docs/training.md); every other model stays float32 unless ``--mixed-precision`` asks.
``steps_per_call`` stays 1 everywhere until the benchmark shows that more steps per call help.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

#: Models whose quality under the benchmark was checked unchanged with mixed bfloat16 (cdcgan, the
#: benchmark's default model; dcgan is the same networks and loss without the labels).
BF16_CHECKED_MODELS = ("dcgan", "cdcgan")

#: CPU flags (``/proc/cpuinfo``) that give native bfloat16 matrix maths to oneDNN.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclasses.dataclass(frozen=True)
class SpeedSettings:
    """Concrete speed settings of one training run and the reason for each automatic choice."""

    device: str            # "gpu" or "cpu"
    mixed_precision: str   # "off", "float16" or "bfloat16"
    jit_compile: bool
    steps_per_call: int
    reason: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """Lower-case feature flags of the first CPU in ``cpuinfo`` (empty where the file is absent, e.g. macOS)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return set(value.lower().split())
    return set()


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    """True when the CPU does bfloat16 matrix maths natively (AVX512-BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in BF16_CPU_FLAGS)


def visible_device() -> str:
    """``"gpu"`` when TensorFlow sees a GPU, else ``"cpu"`` (imports TensorFlow)."""
    import tensorflow as tf

    return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"


def resolve(mixed_precision: str = "auto", jit_compile: bool | None = None, steps_per_call: int = 1, *,
            model: str = "dcgan", device: str | None = None, flags: set[str] | None = None) -> SpeedSettings:
    """Concrete settings for ``model`` on ``device`` (default: the one TensorFlow sees); explicit values win.

    mixed_precision: ``"auto" | "off" | "float16" | "bfloat16"``; jit_compile: ``None`` = automatic;
    model: registered model name (automatic bfloat16 only for :data:`BF16_CHECKED_MODELS`);
    flags: CPU flags (default: read from ``/proc/cpuinfo``), for tests.
    """
    device = device or visible_device()
    if device not in ("gpu", "cpu"):
        raise ValueError(f"device must be 'gpu' or 'cpu', got {device!r}")
    reasons = []
    if mixed_precision == "auto":
        mixed_precision = "off"
        if device == "gpu":
            reasons.append("float32: float16 not yet measured on a GPU (benchmarks/gpu.sh)")
        elif not cpu_has_bf16(flags):
            reasons.append("float32: no native bfloat16 on this CPU")
        elif model not in BF16_CHECKED_MODELS:
            reasons.append(f"float32: bfloat16 quality not checked for {model!r}")
        else:
            mixed_precision = "bfloat16"
            reasons.append("mixed bfloat16: the CPU has native bfloat16 (avx512_bf16/amx_bf16)")
    if jit_compile is None:
        jit_compile = device == "gpu"
        reasons.append("XLA " + ("on (GPU)" if jit_compile else "off (slower on CPU)"))
    return SpeedSettings(device, mixed_precision, bool(jit_compile), int(steps_per_call), "; ".join(reasons))
