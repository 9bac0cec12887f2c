"""Packaging rules: cheap import, environment.yml in sync with pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_import_does_not_pull_tensorflow_or_torch():
    code = (
        "import sys, medganbench, medganbench.data, medganbench.registry, medganbench.cli;"
        "medganbench.cli.build_parser();"
        "bad=[m for m in ('tensorflow','torch','torchvision','torch_fidelity','medmnist','keras') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "", f"import medganbench pulled in: {out.stdout.strip()}"


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    env_lines = (REPO / "environment.yml").read_text().splitlines()
    pip_pkgs = {_name(line.split("- ", 1)[1]) for line in env_lines
                if line.strip().startswith("- ") and line.startswith("      ")}
    assert pip_pkgs == wanted, (
        f"only in pyproject: {sorted(wanted - pip_pkgs)}; only in environment.yml: {sorted(pip_pkgs - wanted)}"
    )
