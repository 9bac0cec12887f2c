"""Graded exercises: every notebook has them, the editions are clean, and grading gives the right marks."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from medganbench.course import assignments as asg

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
nbformat = pytest.importorskip("nbformat")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_master_has_graded_exercises(nb_path: Path):
    nb = nbformat.read(nb_path, as_version=4)
    qs = asg.check_master(nb, nb_path.name)
    assert len(qs) >= 2, f"{nb_path.name}: at least two graded code exercises"
    start = asg.exercises_start(nb)
    section = nb.cells[start:]
    for q in qs:
        assert q.points > 0 and q.answer_ids, q
        test_cell = next(c for c in section if asg.nbgrader_meta(c).get("grade_id") == q.grade_id)
        public = asg.strip_markers(test_cell.source)
        assert "assert" in public, f"{q.column}: the public test must check something"
        assert asg.BEGIN_HIDDEN in test_cell.source, f"{q.column}: hidden tests missing"
    text = "\n".join(c.source for c in section if c.cell_type == "markdown")
    assert "Discussion questions (not graded)" in text
    assert text.count("network") >= len(qs), "each exercise says whether it needs a network"


def _text(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def test_student_edition_holds_no_solution(course_build: Path):
    for nb_path in NOTEBOOKS:
        master = nbformat.read(nb_path, as_version=4)
        student = nbformat.read(course_build / "student" / nb_path.name, as_version=4)
        text = _text(course_build / "student" / nb_path.name)
        for marker in (asg.BEGIN_SOLUTION, asg.BEGIN_HIDDEN, "END HIDDEN TESTS"):
            assert marker not in text, f"{nb_path.name}: '{marker}' left in the student edition"
        by_id = {asg.nbgrader_meta(c).get("grade_id"): c for c in student.cells if asg.nbgrader_meta(c)}
        for cell in master.cells:
            meta = asg.nbgrader_meta(cell)
            if not (meta.get("solution") or meta.get("grade")):
                continue
            one = nbformat.v4.new_notebook(cells=[cell])
            secret = asg.solution_lines(one) + asg.hidden_test_lines(one)
            mine = {ln.strip() for ln in by_id[meta["grade_id"]].source.splitlines()}
            leaked = [ln for ln in secret if ln in mine]
            assert not leaked, f"{nb_path.name} {meta['grade_id']}: solution/hidden code left: {leaked[:3]}"
            if meta.get("solution"):
                assert "raise NotImplementedError()" in by_id[meta["grade_id"]].source
        solutions = _text(course_build / "solutions" / nb_path.name)
        assert asg.BEGIN_SOLUTION not in solutions and "HIDDEN TESTS" not in solutions
        assert all(ln in solutions for ln in asg.solution_lines(master)), "solution code missing"
        assert (course_build / "autograder" / nb_path.name).is_file()


def test_build_refuses_a_foreign_folder(tmp_path: Path):
    (tmp_path / "thesis.tex").write_text("keep me")
    with pytest.raises(asg.MedGanBenchError, match="not empty"):
        asg.build(REPO / "notebooks", tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "keep me"


WRONG_00_EX1 = '''def to_model_range(images):
    x = np.asarray(images, dtype=np.float32)
    return ((x - x.min()) / (x.max() - x.min()) * 2 - 1)[..., None]  # per-batch min-max: wrong
'''


@pytest.mark.slow
def test_grading_gives_full_marks_to_solutions_and_none_to_blanks(course_build: Path, tmp_path: Path):
    """Solutions score every point (public + hidden tests pass); an unanswered student edition scores 0;
    an answer that passes the public test but not the hidden ones scores 0 for that question."""
    from medganbench.course.grading import grade_folder

    subs = tmp_path / "submissions"
    shutil.copytree(course_build / "solutions", subs / "ada" / "lab")   # a platform's nested export
    shutil.copytree(course_build / "student", subs / "blank")
    partial = subs / "partial"
    partial.mkdir()
    nb = nbformat.read(course_build / "solutions" / NOTEBOOKS[0].name, as_version=4)
    for cell in nb.cells:
        if asg.nbgrader_meta(cell).get("grade_id") == "nb00_ex1_answer":
            cell.source = WRONG_00_EX1
    nbformat.write(nb, partial / NOTEBOOKS[0].name)
    (partial / NOTEBOOKS[1].name).write_text("{not json")

    rows = grade_folder(subs, course_build / "autograder", tmp_path / "grades.csv", progress=lambda _: None)
    with open(tmp_path / "grades.csv") as fh:
        table = {r["student"]: r for r in csv.DictReader(fh)}
    assert [r["student"] for r in rows] == ["ada", "blank", "partial"]
    total = float(table["ada"]["max"])
    assert total >= 2 * 2 * len(NOTEBOOKS)
    assert float(table["ada"]["total"]) == total, {k: v for k, v in table["ada"].items() if v in ("0", "0.0")}
    assert float(table["blank"]["total"]) == 0
    assert float(table["partial"]["00:nb00_ex1"]) == 0 and float(table["partial"]["00:nb00_ex2"]) == 2
    assert float(table["partial"]["total"]) == 2
    with open(tmp_path / "grades_feedback.csv") as fh:
        feedback = list(csv.DictReader(fh))
    msgs = {(f["student"], f["question"]): f["message"] for f in feedback}
    assert "min-max" in msgs[("partial", "00:nb00_ex1")]
    assert "unreadable" in msgs[("partial", "01:nb01_ex1")]
    assert "not submitted" in msgs[("partial", "08:nb08_ex1")]
    assert "NotImplementedError" in msgs[("blank", "05:nb05_ex1")]


@pytest.mark.slow
def test_grade_cli_names_a_bad_folder(cli, tmp_path: Path):
    proc = cli("course", "grade", str(tmp_path / "nope"), "--out", str(tmp_path / "g.csv"))
    assert proc.returncode == 2 and "not a folder of student sub-folders" in proc.stderr
    assert not (tmp_path / "g.csv").exists()


@pytest.mark.slow
def test_render_names_the_notebook_and_cell_that_ran_out_of_time(tmp_path: Path, capsys):
    """A cell past --timeout is one line naming the notebook, the cell and the flag (it used to print
    'a file: CellTimeoutError.', since nbclient's timeout is an OSError)."""
    from medganbench.cli import main

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 42 · slow"),
                                         nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(60)")])
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "42_slow.ipynb")
    rc = main(["course", "render", "--notebooks", str(folder), "--out", str(tmp_path / "site"), "--timeout", "3"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "42_slow.ipynb" in err and "code cell 2 ('import time')" in err and "--timeout" in err, err
    assert not (tmp_path / "site" / "index.html").exists()
