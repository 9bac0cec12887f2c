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
