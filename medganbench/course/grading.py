"""Grade submitted notebooks against the masters' public and hidden tests (nbgrader's autograde, offline).

For each student and notebook, the grader builds a small notebook from the master's ``## Exercises``
section: the master's setup and test cells (hidden tests restored, so a student cannot weaken them) and
the student's *answer* cells, matched by their nbgrader ``grade_id``. It runs that notebook in a fresh
kernel in a temporary folder; a test cell that runs without an error earns its points. Nothing runs
from the submission except its answer cells.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medganbench.course.assignments import (
    Question,
    check_master,
    clear_solutions,
    exercises_start,
    master_notebooks,
    nbformat_module,
    nbgrader_meta,
)
from medganbench.errors import MedGanBenchError


@dataclass
class Score:
    question: Question
    points: float
    message: str  # "" when passed, else the error's first line


@contextlib.contextmanager
def _kernel_env(extra: dict[str, str]):
    """The kernel inherits os.environ: set quiet, fast settings for the run, then restore."""
    before = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def _error_line(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0] if value else ''}".strip()[:300]
    return ""


def grading_notebook(master, submission):
    """The master's Exercises code cells with the submission's answer cells (stubs where missing)."""
    nbformat = nbformat_module()
    answers = {}
    if submission is not None:
        for cell in submission.cells:
            meta = nbgrader_meta(cell)
            if meta.get("solution") and cell.cell_type == "code":
                answers.setdefault(meta.get("grade_id"), cell.source)
    cells = []
    for cell in master.cells[exercises_start(master):]:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        new = nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": dict(meta)})
        if meta.get("solution"):
            new.source = answers.get(meta["grade_id"], clear_solutions(cell.source))
        cells.append(new)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def grade_notebook(master, submission, name: str, timeout: float = 300) -> list[Score]:
    """Run one submission's answers against the master's tests; one Score per graded question."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    qs = check_master(master, name)
    if submission is None:
        return [Score(q, 0.0, "notebook not submitted") for q in qs]
    nb = grading_notebook(master, submission)
    with tempfile.TemporaryDirectory(prefix="mgb-grade-") as work, \
            _kernel_env({"MEDGANBENCH_SMOKE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": work}})
        stopped = ""
        try:
            client.execute()
        except (CellTimeoutError, DeadKernelError) as exc:
            stopped = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    scores = []
    for q in qs:
        cell = by_id[q.grade_id]
        if cell.get("execution_count") is None:
            scores.append(Score(q, 0.0, stopped or "not run"))
            continue
        error = _error_line(cell)
        scores.append(Score(q, 0.0 if error else q.points, error))
    return scores


def _find_submission(student_dir: Path, name: str) -> Path | None:
    hits = sorted(p for p in student_dir.rglob(name) if ".ipynb_checkpoints" not in p.parts)
    return hits[0] if hits else None


def grade_folder(submissions: str | Path, masters: str | Path, out: str | Path,
                 timeout: float = 300, progress=print) -> list[dict]:
    """Grade ``submissions/<student>/.../NN_name.ipynb`` for every student; write ``out`` (CSV).

    One row per student: a column per question (``NN:grade_id``), ``total`` and ``max``. A second file,
    ``<out stem>_feedback.csv``, lists each lost point with the error that cost it.
    """
    nbformat = nbformat_module()
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise MedGanBenchError(f"{submissions} is not a folder of student sub-folders")
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise MedGanBenchError(f"{submissions} holds no student sub-folders (one folder per student)")
    masters_nb = {p.name: nbformat.read(p, as_version=4) for p in master_notebooks(masters)}
    columns = [q.column for name, nb in masters_nb.items() for q in check_master(nb, name)]
    max_total = sum(q.points for name, nb in masters_nb.items() for q in check_master(nb, name))
    rows, feedback = [], []
    for student in students:
        row = {"student": student.name}
        for name, master in masters_nb.items():
            path = _find_submission(student, name)
            try:
                sub = nbformat.read(path, as_version=4) if path else None
            except Exception as exc:  # a broken file costs that notebook's points, not the whole run
                sub, broken = None, f"unreadable notebook: {exc}"
            else:
                broken = ""
            scores = grade_notebook(master, sub, name, timeout) if (sub is not None or not broken) else \
                [Score(q, 0.0, broken) for q in check_master(master, name)]
            for s in scores:
                row[s.question.column] = s.points
                if s.message:
                    feedback.append({"student": student.name, "question": s.question.column,
                                     "points": f"0/{s.question.points:g}", "message": s.message})
        row["total"] = sum(row[c] for c in columns)
        row["max"] = max_total
        rows.append(row)
        progress(f"{student.name}: {row['total']:g}/{max_total:g}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", *columns, "total", "max"])
        writer.writeheader()
        writer.writerows(rows)
    with open(out.with_name(out.stem + "_feedback.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", "question", "points", "message"])
        writer.writeheader()
        writer.writerows(feedback)
    return rows
