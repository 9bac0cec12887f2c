"""Where and with what a number was made: package versions, hardware, accelerator, timestamp.

Read from package metadata, the OS and ``nvidia-smi``; nothing heavy (TensorFlow, torch) is imported.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import subprocess
from functools import lru_cache
from importlib import metadata

#: Packages whose versions are recorded (read from installed metadata; nothing is imported).
RECORDED_PACKAGES = ("medganbench", "numpy", "scipy", "tensorflow", "keras", "torch", "torchvision",
                     "torch-fidelity", "scikit-learn", "jsonschema")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change a number (from metadata, no imports)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out.get("medganbench") is None:
        from medganbench import __version__

        out["medganbench"] = __version__
    return out


@lru_cache(maxsize=1)
def accelerator() -> str | None:
    """The GPU name from ``nvidia-smi`` when there is one; TensorFlow is not imported for this."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"], check=False, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return ", ".join(names) or None


def hardware_info() -> dict:
    """Where the numbers were made: OS, CPU, core count, memory, accelerator."""
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "cpu_count": cpus,
            "memory_gib": mem, "accelerator": accelerator()}


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
