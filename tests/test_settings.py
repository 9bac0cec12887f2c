"""Settings come from the edges: a library call gets what it asked for, whatever the environment says."""

from __future__ import annotations


def test_get_budget_returns_the_budget_asked_for_even_in_smoke_mode(monkeypatch):
    from medganbench.bench.budgets import BUDGETS, SMOKE, get_budget

    monkeypatch.setenv("MEDGANBENCH_SMOKE", "1")
    assert get_budget("quick") == BUDGETS["quick"] and get_budget("smoke") == SMOKE


def test_the_cli_reads_smoke_mode_at_the_edge(monkeypatch):
    from medganbench.bench.protocol import BenchConfig
    from medganbench.cli.bench import _smoke_budget

    monkeypatch.setenv("MEDGANBENCH_SMOKE", "1")
    assert _smoke_budget(BenchConfig(budget="quick")).budget == "smoke"
    monkeypatch.delenv("MEDGANBENCH_SMOKE")
    assert _smoke_budget(BenchConfig(budget="quick")).budget == "quick"


def test_settings_parse_once_with_one_line_errors():
    from pathlib import Path

    import pytest

    from medganbench.errors import ConfigError
    from medganbench.settings import Settings

    s = Settings.from_env({"MEDGANBENCH_SMOKE": "Yes", "MEDGANBENCH_DATA": "/d", "MEDGANBENCH_OFFLINE": "0",
                           "MEDGANBENCH_INCEPTION_URL": "http://mirror/x.pth", "OTHER": "ignored"})
    assert s == Settings(smoke=True, data=Path("/d"), inception_url="http://mirror/x.pth")
    assert Settings.from_env({}) == Settings() and Settings.from_env({"MEDGANBENCH_CACHE": " "}).cache is None
    assert Settings.from_env(s.environ()) == s
    with pytest.raises(ConfigError, match=r"^MEDGANBENCH_SMOKE='maybe' is not understood: use 1/true") as err:
        Settings.from_env({"MEDGANBENCH_SMOKE": "maybe"})
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="MEDGANBENCH_MEDMNIST_URL_BASE='mirror' is not a URL"):
        Settings.from_env({"MEDGANBENCH_MEDMNIST_URL_BASE": "mirror"})


def test_library_calls_take_settings_instead_of_the_environment(monkeypatch, tmp_path):
    from medganbench.data.medmnist import resolve_root
    from medganbench.metrics.domain import cache_root
    from medganbench.runtime import smoke
    from medganbench.settings import Settings

    monkeypatch.setenv("MEDGANBENCH_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("MEDGANBENCH_SMOKE", "1")
    given = Settings(data=tmp_path / "given", cache=tmp_path / "c")
    assert resolve_root(settings=given) == tmp_path / "given" and resolve_root() == tmp_path / "env"
    assert cache_root(settings=given) == tmp_path / "c"
    assert smoke("full", "small", settings=given) == "full" and smoke("full", "small") == "small"


def test_bad_setting_is_one_line_from_the_cli(monkeypatch, capsys):
    from medganbench.cli import main

    monkeypatch.setenv("MEDGANBENCH_SMOKE", "maybe")
    assert main(["data", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("medganbench: error: MEDGANBENCH_SMOKE='maybe'") and "\n" not in err


def _environment_accesses(tree, consts):
    """(line, variable) of every os.environ / os.getenv access whose key is a MEDGANBENCH_ name."""
    import ast

    def name_of(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return consts.get(node.id)
        return None

    def is_environ(node):
        return isinstance(node, ast.Attribute) and node.attr == "environ" or (
            isinstance(node, ast.Name) and node.id == "environ")

    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and is_environ(node.value):
            key = name_of(node.slice)
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            if (isinstance(f, ast.Attribute) and is_environ(f.value)) or (
                    isinstance(f, ast.Attribute) and f.attr == "getenv") or (isinstance(f, ast.Name) and f.id == "getenv"):
                key = name_of(node.args[0])
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            key = name_of(node.left)
        if key and key.startswith("MEDGANBENCH_"):
            found.append((node.lineno, key))
    return found


#: Accesses that must stay, and why. The key is (module path, variable).
ALLOWED = {
    # the course renderer runs notebooks in a Jupyter kernel, a child process: smoke mode reaches it only
    # through the environment (it is written for the child, never read here)
    ("medganbench/course/render.py", "MEDGANBENCH_SMOKE"),
}


def test_only_the_settings_module_reads_medganbench_variables():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in sorted((root / "medganbench").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "medganbench/settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                  and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                  for t in n.targets if isinstance(t, ast.Name)}
        offenders += [f"{rel}:{line} {key}" for line, key in _environment_accesses(tree, consts)
                      if (rel, key) not in ALLOWED]
    assert not offenders, "read MEDGANBENCH_* through medganbench.settings.Settings:\n" + "\n".join(offenders)
