"""Graded exercises in nbgrader's notebook format: read the masters, write student and solution editions.

A master notebook (``notebooks/NN_*.ipynb``) marks its graded cells with nbgrader metadata
(``cell.metadata["nbgrader"]``, schema version 3):

- an *answer* cell (``solution: true``) holds ``### BEGIN SOLUTION`` ... ``### END SOLUTION``;
- a *test* cell (``grade: true``, ``points``, ``grade_id`` = the question id) holds public asserts and
  ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``;
- *locked* cells (setup code) are read-only for the student.

The editions are made the way nbgrader's ``generate_assignment`` makes them (its ClearSolutions and
ClearHiddenTests preprocessors): a solution region becomes ``# YOUR CODE HERE`` /
``raise NotImplementedError()`` at the region's indentation, hidden tests are removed, outputs cleared.
The graded cells sit in the notebook's ``## Exercises`` section and need only the section's own setup
cell, so grading runs that section alone (seconds), not the training above it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from medganbench.errors import MedGanBenchError

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
EXERCISES_HEADING = "## Exercises"
_REGION = {
    "solution": re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)",
                           re.M | re.S),
    "hidden": re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)",
                         re.M | re.S),
}


def nbformat_module():
    """Import nbformat (the ``course`` extra), or say how to get it."""
    try:
        import nbformat
    except ModuleNotFoundError as exc:  # pragma: no cover - the dev/course extras install it
        raise MedGanBenchError('the course tools need nbformat and nbclient: pip install "medganbench[course]"') \
            from exc
    return nbformat


@dataclass(frozen=True)
class Question:
    """One graded question: its test cell's ``grade_id`` and points, and the answer cells before it."""

    notebook: str      # file name of the notebook, e.g. "01_gan_theory.ipynb"
    grade_id: str      # e.g. "nb01_ex1"
    points: float
    answer_ids: tuple[str, ...]

    @property
    def column(self) -> str:
        return f"{Path(self.notebook).stem[:2]}:{self.grade_id}"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercises_start(nb) -> int:
    """Index of the ``## Exercises`` heading cell (raises when the notebook has none)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith(EXERCISES_HEADING):
            return i
    raise MedGanBenchError(f"{nb.metadata.get('_path', 'notebook')} has no '{EXERCISES_HEADING}' section")


def questions(nb, name: str) -> list[Question]:
    """The graded questions of a master notebook, in order; answer cells belong to the next test cell."""
    found, pending = [], []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            pending.append(meta["grade_id"])
        if meta.get("grade"):
            found.append(Question(name, meta["grade_id"], float(meta.get("points", 0)), tuple(pending)))
            pending = []
    return found


def clear_solutions(source: str) -> str:
    """Replace each solution region by nbgrader's stub, keeping the region's indentation."""
    def stub(match: re.Match) -> str:
        indent = match.group(1)
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"
    return _REGION["solution"].sub(stub, source).rstrip("\n")


def strip_markers(source: str) -> str:
    """The solution edition: solution code kept, marker lines dropped, hidden tests removed."""
    source = _REGION["hidden"].sub("", source)
    lines = [ln for ln in source.splitlines() if ln.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
    return "\n".join(lines).rstrip("\n")


def _clear_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)


def student_edition(master):
    """Solutions replaced by stubs, hidden tests removed, outputs cleared; graded cells keep their ids."""
    nb = copy.deepcopy(master)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = clear_solutions(cell.source)
        if meta.get("grade"):
            cell.source = _REGION["hidden"].sub("", cell.source).rstrip("\n")
        if meta.get("locked"):
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    _clear_outputs(nb)
    return nb


def solution_edition(master):
    """Solutions shown without markers, hidden tests removed (safe to publish after the deadline)."""
    nb = copy.deepcopy(master)
    for cell in nb.cells:
        if nbgrader_meta(cell):
            cell.source = strip_markers(cell.source)
    _clear_outputs(nb)
    return nb


def solution_lines(master) -> list[str]:
    """The non-trivial code lines of every solution region (to check an edition leaks none)."""
    out = []
    for cell in master.cells:
        if nbgrader_meta(cell).get("solution"):
            for region in _REGION["solution"].finditer(cell.source):
                body = region.group(0).splitlines()[1:-1]
                out += [ln.strip() for ln in body if len(ln.strip()) > 12 and not ln.strip().startswith("#")]
    return out


def hidden_test_lines(master) -> list[str]:
    out = []
    for cell in master.cells:
        if nbgrader_meta(cell).get("grade"):
            for region in _REGION["hidden"].finditer(cell.source):
                body = region.group(0).splitlines()[1:-1]
                out += [ln.strip() for ln in body if len(ln.strip()) > 12 and not ln.strip().startswith("#")]
    return out


def check_master(nb, name: str) -> list[Question]:
    """Validate a master's graded cells; return its questions (a one-line error names what is wrong)."""
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise MedGanBenchError(f"{name}: duplicate nbgrader grade_id {dupes}")
    start = exercises_start(nb)
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if meta and i < start:
            raise MedGanBenchError(f"{name}: graded cell {meta['grade_id']} sits above '{EXERCISES_HEADING}'")
        if meta.get("solution") and BEGIN_SOLUTION not in cell.source:
            raise MedGanBenchError(f"{name}: answer cell {meta['grade_id']} has no '{BEGIN_SOLUTION}' region")
    return questions(nb, name)


def master_notebooks(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise MedGanBenchError(f"no course notebooks (NN_name.ipynb) in {folder}: pass the notebooks/ folder")
    return paths


def build(masters: str | Path, out: str | Path) -> dict[str, list[Question]]:
    """Write ``out/student``, ``out/solutions`` and ``out/autograder`` (the masters, what the grader reads).

    Returns the questions per notebook. Refuses to write into a non-empty ``out`` that is not an
    earlier build (so it never overwrites unrelated files).
    """
    nbformat = nbformat_module()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "autograder").is_dir():
        raise MedGanBenchError(f"{out} is not empty and not an earlier course build; choose a new --out folder")
    result = {}
    for edition in ("student", "solutions", "autograder"):
        (out / edition).mkdir(parents=True, exist_ok=True)
    for path in master_notebooks(masters):
        master = nbformat.read(path, as_version=4)
        result[path.name] = check_master(master, path.name)
        nbformat.write(student_edition(master), out / "student" / path.name)
        nbformat.write(solution_edition(master), out / "solutions" / path.name)
        key = copy.deepcopy(master)
        _clear_outputs(key)
        nbformat.write(key, out / "autograder" / path.name)
    return result
