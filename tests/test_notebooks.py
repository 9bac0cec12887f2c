"""Every notebook runs top to bottom in smoke mode, and follows the course template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text())["cells"]


def _src(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    assert NOTEBOOKS[0].name.startswith("00_")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_template(nb_path: Path):
    cells = _cells(nb_path)
    first = _src(cells[0])
    assert first.lstrip().startswith("# "), "first cell must be the title"
    assert "colab.research.google.com" in first, "first cell must carry the Colab badge"
    assert "runtime" in first.lower(), "first cell must give a runtime estimate"
    code = [_src(c) for c in cells if c["cell_type"] == "code"]
    assert any('"google.colab" in sys.modules' in s for s in code), "guarded install cell missing"
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), \
        "one code cell must be tagged 'parameters'"
    headings = [_src(c) for c in cells if c["cell_type"] == "markdown"]
    assert any(h.lstrip().startswith("## Summary") for h in headings), "missing '## Summary'"
    assert any(h.lstrip().startswith("## Exercises") for h in headings), "missing '## Exercises'"
    assert "you will learn" in first.lower() and "you need" in first.lower(), \
        "the first cell says what you will learn and what you need"
    for c in cells:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, \
                f"{nb_path.name} is committed with outputs; clear them"


def _errors(cell) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.notebook
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(nb_path: Path, executed_student):
    """The STUDENT edition runs top to bottom in smoke mode: every cell runs cleanly except the unanswered
    exercises, whose public test stops at the answer's stub (NotImplementedError), as a student would see."""
    from medganbench.course.assignments import exercises_start, nbgrader_meta

    nb, _ = executed_student(nb_path.name)
    start = exercises_start(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta, errors = nbgrader_meta(cell), _errors(cell)
        where = f"{nb_path.name} cell {i} ({cell.get('id')})"
        assert cell.get("execution_count") is not None, f"{where} did not run"
        if i < start or not meta.get("grade"):
            assert not errors, f"{where} failed: {errors}\n{cell.source[:400]}"
        else:  # the answer cell only defines the stub; its public test calls it
            assert errors and errors[0].startswith("NotImplementedError"), \
                f"{where}: the public test of an unanswered exercise should stop at the stub, got {errors or 'no error'}"
