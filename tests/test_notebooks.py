"""Every notebook runs top to bottom in smoke mode, and follows the course template."""

from __future__ import annotations

import json
import os
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
    for c in cells:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, \
                f"{nb_path.name} is committed with outputs; clear them"


@pytest.mark.notebook
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(nb_path: Path, tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(nb_path, as_version=4)
    env_before = dict(os.environ)
    os.environ["MEDGANBENCH_SMOKE"] = "1"
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
