"""Render the course: execute the student edition of each notebook and write a static HTML site.

Pages come from nbconvert's ``HTMLExporter`` (lab template, figures embedded); the index is a small
notebook of Markdown (the course map: objectives, prerequisites, runtimes) exported the same way. The
executed pages show what a student sees before answering: body outputs, exercise cells not run.
Static pages cannot update a widget, so progress bars are plain-text tqdm bars (their last state is
kept), and TensorFlow's C++ start-up log lines are dropped from stderr.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import tempfile
import time
from pathlib import Path

from medganbench.course.assignments import exercises_start, master_notebooks, nbformat_module, student_edition
from medganbench.errors import MedGanBenchError

PRELUDE_TAG = "mgb-render-prelude"
# Run before the notebook's own cells, then removed: tqdm.auto would draw ipywidgets, which a static
# page shows frozen; a text bar on stdout ends at its final state once streams are coalesced.
PRELUDE = """\
import sys as _sys
import tqdm.auto as _tqdm_auto
import tqdm.std as _tqdm_std


class _TextBar(_tqdm_std.tqdm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file", _sys.stdout)
        kwargs.setdefault("mininterval", 2.0)
        super().__init__(*args, **kwargs)


_tqdm_auto.tqdm = _TextBar
"""
_TF_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                     r"|[IWEF]\d{4} \S+\s+\d+ \S+:\d+\] .*)$")


@contextlib.contextmanager
def _env(smoke: bool, extra_path: str | None):
    before = dict(os.environ)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend, so figures land in the page
    # Written, not read: the notebook kernel is a child process, and the environment is how it gets smoke mode.
    if smoke:
        os.environ["MEDGANBENCH_SMOKE"] = "1"
    else:
        os.environ.pop("MEDGANBENCH_SMOKE", None)
    if extra_path:
        os.environ["PYTHONPATH"] = extra_path + os.pathsep + os.environ.get("PYTHONPATH", "")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def _running_cell(nb) -> str:
    """'code cell N (first line)' for the cell that was running: nbclient numbers a cell when it starts."""
    code = [c for c in nb.cells if c.cell_type == "code" and PRELUDE_TAG not in c.get("metadata", {}).get("tags", [])]
    started = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
    if not code:
        return "a cell"
    i = started[-1] if started else 0
    first = next((ln for ln in code[i].source.splitlines() if ln.strip()), "")[:60]
    return f"code cell {i + 1} ({first!r})"


def execute(nb, workdir: str | Path, smoke: bool, timeout: float = 1800, allow_errors: bool = True,
            extra_path: str | None = None) -> float:
    """Execute ``nb`` in place (fresh kernel, cwd ``workdir``) with the render prelude; return seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    nbformat = nbformat_module()
    prelude = nbformat.v4.new_code_cell(PRELUDE, metadata={"tags": [PRELUDE_TAG]})
    nb.cells.insert(0, prelude)
    start = time.perf_counter()
    try:
        with _env(smoke, extra_path):
            NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                           resources={"metadata": {"path": str(workdir)}}).execute()
    except CellTimeoutError as exc:
        raise MedGanBenchError(f"{_running_cell(nb)} ran longer than {timeout:.0f} s; raise --timeout "
                               "(seconds per cell) or use --smoke") from exc
    finally:
        nb.cells = [c for c in nb.cells if PRELUDE_TAG not in c.get("metadata", {}).get("tags", [])]
    return time.perf_counter() - start


def for_static_page(executed):
    """A copy fit for a static page: exercise cells un-run, widget views and TF C++ log lines dropped."""
    nb = copy.deepcopy(executed)
    start = exercises_start(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if i >= start:
            cell.outputs, cell.execution_count = [], None
            continue
        kept = []
        for out in cell.outputs:
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue
            if out.get("output_type") == "stream":
                text = "".join(ln for ln in out["text"].splitlines(keepends=True) if not _TF_LOG.match(ln.rstrip("\n")))
                if not text.strip():
                    continue
                out["text"] = text
            kept.append(out)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return nb


def header_facts(nb) -> dict[str, str]:
    """Title, objectives, prerequisites and lab runtime from a notebook's opening cell."""
    src = nb.cells[0].source
    title = src.splitlines()[0].lstrip("# ").strip()

    def field(label: str) -> str:  # "**Label:** text" or "**Label**" then a list, up to a blank line
        m = re.search(rf"\*\*{label}:?\*\*:?\s*(.*?)(?:\n\n|$)", src, re.S | re.I)
        return " ".join(m.group(1).replace("\n- ", " · ").lstrip("- ").split()) if m else ""

    runtime = field("Runtime")
    runtime = re.split(r";\s*smoke mode", runtime)[0].replace("on 2 CPU cores in lab mode:", "").strip()
    return {"title": title, "learn": field("You will learn"), "need": field("You need"), "runtime": runtime}


def count_figures(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}))


def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def render_site(pages: list[tuple[str, object, float]], out: str | Path, mode: str) -> Path:
    """Write ``out/<notebook>.html`` for each (name, executed notebook, seconds) and ``out/index.html``."""
    nbformat = nbformat_module()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exporter = _exporter()
    rows = []
    for name, executed, seconds in pages:
        page = for_static_page(executed)
        html, _ = exporter.from_notebook_node(page, resources={"metadata": {"name": Path(name).stem}})
        (out / f"{Path(name).stem}.html").write_text(html, encoding="utf-8")
        facts = header_facts(page)
        rows.append((name, facts, seconds, count_figures(page)))
    lines = ["# GANs on medical images: the course", "",
             "Each lab is a Jupyter notebook; these pages were executed by `medganbench course render` "
             f"({mode}). Exercises are shown un-run: they are yours to do.", "",
             "| lab | you will learn | you need | runtime, 2 CPU cores, lab mode | this render | figures |",
             "|---|---|---|---|---|---|"]
    for name, f, seconds, figures in rows:
        cell = lambda s: s.replace("|", "\\|")  # noqa: E731
        lines.append(f"| [{cell(f['title'])}]({Path(name).stem}.html) | {cell(f['learn'])} | {cell(f['need'])} | "
                     f"{cell(f['runtime'])} | {seconds:.0f} s | {figures} |")
    index = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n".join(lines))])
    html, _ = exporter.from_notebook_node(index, resources={"metadata": {"name": "Course map"}})
    (out / "index.html").write_text(html, encoding="utf-8")
    return out / "index.html"


def render_course(notebooks: str | Path, out: str | Path, smoke: bool = False, timeout: float = 1800,
                  progress=print) -> Path:
    """Execute the student edition of every notebook in ``notebooks`` and write the site to ``out``."""
    nbformat = nbformat_module()
    pages = []
    for path in master_notebooks(notebooks):
        nb = student_edition(nbformat.read(path, as_version=4))
        with tempfile.TemporaryDirectory(prefix="mgb-render-") as work:
            try:
                seconds = execute(nb, work, smoke=smoke, timeout=timeout)
            except MedGanBenchError as exc:
                raise MedGanBenchError(f"{path}: {exc}") from exc
        progress(f"{path.name}: executed in {seconds:.0f} s")
        pages.append((path.name, nb, seconds))
    return render_site(pages, out, mode="smoke mode" if smoke else "lab mode")
