"""Session fixtures shared by the notebook, course and render tests.

Each student-edition notebook is executed once in smoke mode (the suite's notebook check); the render
test turns those same executions into HTML, so no notebook runs twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"


@pytest.fixture(scope="session")
def course_build(tmp_path_factory) -> Path:
    """``medganbench course build`` output for the repository's master notebooks."""
    from medganbench.course.assignments import build

    out = tmp_path_factory.mktemp("course") / "build"
    build(NOTEBOOK_DIR, out)
    return out


@pytest.fixture(scope="session")
def executed_student(course_build, tmp_path_factory):
    """``get(name) -> (executed notebook, seconds)``: the student edition run in smoke mode with
    ``allow_errors`` (so unanswered exercises fail where they should and the run goes on). Cached."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            nb = nbformat.read(course_build / "student" / name, as_version=4)
            work = tmp_path_factory.mktemp(Path(name).stem[:12])
            env_before = dict(os.environ)
            os.environ["MEDGANBENCH_SMOKE"] = "1"
            os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
            start = time.perf_counter()
            try:
                client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                                 resources={"metadata": {"path": str(work)}})
                client.execute()
            finally:
                os.environ.clear()
                os.environ.update(env_before)
            cache[name] = (nb, time.perf_counter() - start)
        return cache[name]

    return get
