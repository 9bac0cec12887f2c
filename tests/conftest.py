"""Test configuration: find the real data beside the repo through environment variables.

CI (``.ci/run``) sets ``MEDGANBENCH_DATA`` and ``MEDGANBENCH_DICOM``; when they are unset and the
shared data folder sits beside the checkout (``../shared/data``), they are pointed there. The
package itself never looks for ``../shared``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _course import course_build, executed_student  # noqa: F401  (session fixtures shared by test files)

REPO = Path(__file__).resolve().parents[1]
_SHARED = REPO.parent / "shared" / "data"

if not os.environ.get("MEDGANBENCH_DATA") and (_SHARED / "medmnist").is_dir():
    os.environ["MEDGANBENCH_DATA"] = str(_SHARED / "medmnist")
if not os.environ.get("MEDGANBENCH_DICOM") and (_SHARED / "dicom").is_dir():
    os.environ["MEDGANBENCH_DICOM"] = str(_SHARED / "dicom")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests must never reach for the network or a user's cache of weights.
os.environ.setdefault("MPLBACKEND", "Agg")


#: Fixtures that make a test slow: real data sets, the CLI in a fresh process. A test using one is marked
#: ``slow`` (besides the explicit ``@pytest.mark.slow``), so ``make test-fast`` (``-m "not slow and not
#: notebook"``) runs the unit tests on made-up data and phantoms only. ``make test`` runs everything.
SLOW_FIXTURES = frozenset({"medmnist_root", "dicom_root", "cli", "real_subset"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # The longest file (every notebook's smoke execution, then the render) goes first. Under `make test`'s two
    # workers (--dist loadfile) xdist orders files by their number of tests, and a stable sort keeps this order
    # among equals, so the notebooks start at once beside the rest (they tie with test_dicom.py at 25 today).
    items.sort(key=lambda item: item.path.name != "test_notebooks.py")


def _data_dir(var: str, probe: str) -> Path | None:
    value = os.environ.get(var)
    if value and (Path(value) / probe).exists():
        return Path(value)
    return None


@pytest.fixture(scope="session")
def medmnist_root() -> Path:
    """Folder holding the real ``pneumoniamnist.npz`` (skips only if it is absent)."""
    root = _data_dir("MEDGANBENCH_DATA", "pneumoniamnist.npz")
    if root is None:
        pytest.skip("MEDGANBENCH_DATA does not point at a folder with pneumoniamnist.npz")
    return root


@pytest.fixture(scope="session")
def dicom_root() -> Path:
    """Folder holding the real DICOM test data (``MANIFEST.csv`` and the series folders)."""
    root = _data_dir("MEDGANBENCH_DICOM", "MANIFEST.csv")
    if root is None:
        pytest.skip("MEDGANBENCH_DICOM does not point at the DICOM test data")
    return root


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m medganbench ARGS`` in a fresh process (the way a user runs the CLI)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "medganbench", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"medganbench {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def cli():
    return run_cli
