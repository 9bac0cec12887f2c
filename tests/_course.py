"""Session fixtures shared by the notebook, course and render tests.

Each student-edition notebook is executed once in smoke mode (the suite's notebook check); the render
test turns those same executions into HTML, so no notebook runs twice.
"""

from __future__ import annotations

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
    pytest.importorskip("nbclient")
    from medganbench.course.render import execute

    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            nb = nbformat.read(course_build / "student" / name, as_version=4)
            work = tmp_path_factory.mktemp(Path(name).stem[:12])
            seconds = execute(nb, work, smoke=True, timeout=600, allow_errors=True, extra_path=str(REPO))
            cache[name] = (nb, seconds)
        return cache[name]

    return get
