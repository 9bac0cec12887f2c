"""Install rules: Colab's install cell leaves its Jupyter stack alone; wheel and sdist hold what they need."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

# Colab's default runtime (Python 3.13): its preinstalled versions, from its published package lists, live in
# .ci/colab_runtime.txt (also installed by `.ci/colab-sim`, `make test-colab`). The Jupyter stack is pinned by
# google-colab; pip must not move it. The pinned 2026.07 runtime (3.12) differs only in NumPy (2.0.2).
COLAB_RUNTIME = {Requirement(line).name.lower(): str(next(iter(Requirement(line).specifier)).version)
                 for line in (REPO / ".ci" / "colab_runtime.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")}
JUPYTER = ("ipykernel", "jupyter-client", "notebook", "ipywidgets")
COLAB_JUPYTER_PINS = {k: v for k, v in COLAB_RUNTIME.items() if k in JUPYTER}
COLAB_PREINSTALLED = {k: v for k, v in COLAB_RUNTIME.items() if k not in JUPYTER}
COLAB_312_NUMPY = "2.0.2"
INSTALL_CELL = re.compile(r'!pip install -q "medganbench(\[[^\]]*\])? @ git\+https://github\.com/medganbench/medganbench"')


def _name(req: Requirement) -> str:
    return req.name.lower().replace("_", "-")


def _colab_requirements(extras: set[str]) -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    env = {"python_version": "3.13", "python_full_version": "3.13.0"}
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def _notebook_install_extras() -> set[str]:
    found: set[str] = set()
    for nb_path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = "".join("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"]
                       if c["cell_type"] == "code")
        match = INSTALL_CELL.search(code)
        assert match, f"{nb_path.name}: no guarded `!pip install \"medganbench[...] @ git+...\"` line"
        found |= {e.strip() for e in (match.group(1) or "[]")[1:-1].split(",") if e.strip()}
    return found


def test_python_313_is_allowed():
    spec = SpecifierSet(PROJECT["requires-python"])
    assert "3.10" in spec and "3.13" in spec, f"requires-python {spec} must admit 3.10 to 3.13"
    assert not any(s.operator in ("<", "<=", "==", "~=") for s in spec), "no upper cap on Python"


def test_colab_install_cell_leaves_colabs_jupyter_stack_alone():
    extras = _notebook_install_extras()
    assert "lab" not in extras, "the Colab cell must not install the `lab` extra (jupyterlab)"
    reqs = _colab_requirements(extras)
    names = {_name(r) for r in reqs}
    assert not names & {"jupyterlab", "notebook", "jupyter-server"}, sorted(names)
    # pip only upgrades a preinstalled package when its version fails a specifier: every bound must admit
    # Colab's own version, so the install cell adds packages and moves none of Colab's.
    for req in reqs:
        pins = [COLAB_JUPYTER_PINS.get(_name(req)) or COLAB_PREINSTALLED.get(_name(req))]
        if _name(req) == "numpy":
            pins.append(COLAB_312_NUMPY)
        for pinned in filter(None, pins):
            assert req.specifier.contains(pinned, prereleases=True), (
                f"`{req}` would move Colab's {req.name} {pinned}; lower the bound or drop it from the Colab extras")


def test_colab_pins_are_read():
    assert COLAB_JUPYTER_PINS == {"ipykernel": "6.17.1", "jupyter-client": "7.4.9", "notebook": "6.5.7",
                                  "ipywidgets": "7.7.1"}
    assert COLAB_PREINSTALLED["tensorflow"] == "2.20.0" and COLAB_PREINSTALLED["keras"] == "3.13.2"


def test_lab_extra_is_the_local_route():
    lab = {_name(Requirement(r)) for r in PROJECT["optional-dependencies"]["lab"]}
    assert "jupyterlab" in lab
    assert '".[lab,' in (REPO / "Makefile").read_text(), "the Makefile's install should use the lab extra"


def test_lower_bounds_only_and_fidelity_with_prc():
    for raw in PROJECT["dependencies"]:
        req = Requirement(raw)
        assert all(s.operator == ">=" for s in req.specifier), f"lower bounds only: {raw}"
    fidelity = next(Requirement(r) for r in PROJECT["dependencies"] if r.startswith("torch-fidelity"))
    assert not fidelity.specifier.contains("0.3.0"), "torch-fidelity 0.3.0 has no precision/recall module"
    dev = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]
    tomli = [r for r in dev if r.name == "tomli"]
    assert tomli and tomli[0].marker is not None and tomli[0].marker.evaluate({"python_version": "3.10"}) \
        and not tomli[0].marker.evaluate({"python_version": "3.11"})


def _runtime_data_files() -> set[str]:
    """Every non-Python file inside the package: the package opens these at run time."""
    pkg = REPO / "medganbench"
    return {p.relative_to(REPO).as_posix() for p in pkg.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def sdist_tree(tmp_path_factory) -> tuple[set[str], Path]:
    """Build the sdist from a copy of the tree (egg-info lands there, not in the checkout); unpack it."""
    work = tmp_path_factory.mktemp("sdist")
    src = work / "src"
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", "runs",
                                    ".pytest_cache", ".ruff_cache", "tmp")
    shutil.copytree(REPO, src, ignore=ignore)
    code = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", code, str(work)], cwd=src, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with tarfile.open(work / proc.stdout.strip().splitlines()[-1]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(work / "x")  # our own archive, just built
    return names, next((work / "x").iterdir())


@pytest.mark.slow
def test_sdist_runs_its_tests(sdist_tree):
    names, root = sdist_tree
    needed = {"tests/conftest.py", "tests/_results.py", "environment.yml", "Makefile", "MANIFEST.in",
              "notebooks/00_setup_and_tour.ipynb", "medganbench/bench/schema.json"}
    assert not needed - names, f"the sdist lacks {sorted(needed - names)}"
    # The unpacked sdist runs its own tests (a quick one: pyproject and environment.yml agree).
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_packaging.py::test_environment_yml_matches_pyproject"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.slow
def test_wheel_from_sdist_holds_every_runtime_file(sdist_tree, tmp_path: Path):
    _, root = sdist_tree
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(root)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = set(zipfile.ZipFile(next(tmp_path.glob("medganbench-*.whl"))).namelist())
    wanted = _runtime_data_files()
    assert "medganbench/bench/schema.json" in wanted
    missing = sorted(wanted - names)
    assert not missing, f"the wheel lacks files the package opens at run time: {missing} (package-data globs)"
    assert not any(n.startswith(("tests/", "notebooks/")) for n in names)
