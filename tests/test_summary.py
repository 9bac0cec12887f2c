"""The summary block (score, rankable, reasons, warnings) from metric groups: every rule, no data needed."""

from __future__ import annotations

import pytest

from medganbench.bench.result import metric_group, skipped
from medganbench.bench.summary import MIN_RANKABLE_N, SCORE_NAME, SUMMARY_KEYS, summarize


def _groups(excess=0.002, n=2000, recall=0.8, recall_real=0.9, memorized=False, **dom):
    values = {"kid_excess": excess, "kid_excess_ci_low": excess - 0.001, "kid_excess_ci_high": excess + 0.001,
              "kid_floor_mean": 0.0005, "kid_floor_low": 0.0, "kid_floor_high": 0.004, "n_fake": n,
              "recall": recall, "recall_real": recall_real, **dom}
    memo = {"memorized": memorized, "memorized_reason": "120 of 500 generated images are near copies" if memorized
            else None}
    return {"domain": metric_group(values, n_generated=n), "memorization": metric_group(memo, n_generated=n)}


def test_an_honest_result_is_rankable_with_its_interval():
    s = summarize(_groups())
    assert tuple(s) == SUMMARY_KEYS
    assert s["score_name"] == SCORE_NAME and s["lower_is_better"] is True
    assert s["score"] == pytest.approx(2.0) and s["score_ci_low"] == pytest.approx(1.0)
    assert s["score_ci_high"] == pytest.approx(3.0)
    assert s["floor_low"] == pytest.approx(-0.5) and s["floor_high"] == pytest.approx(3.5)
    assert s["rankable"] is True and s["reasons"] == [] and s["warnings"] == []


def test_a_memorized_result_is_never_rankable():
    s = summarize(_groups(excess=-0.001, memorized=True))
    assert s["rankable"] is False and s["score"] == pytest.approx(-1.0)
    assert any("memorized" in r and "near copies" in r for r in s["reasons"])


def test_missing_checks_small_sets_and_old_results_are_not_rankable():
    no_memo = {"domain": _groups()["domain"], "memorization": skipped("turned off")}
    s = summarize(no_memo)
    assert not s["rankable"] and "turned off" in s["reasons"][0]
    small = summarize(_groups(n=MIN_RANKABLE_N - 1))
    assert not small["rankable"] and small["score"] is not None and str(MIN_RANKABLE_N) in small["reasons"][0]
    assert summarize(_groups(n=MIN_RANKABLE_N))["rankable"]
    v1 = _groups()
    del v1["domain"]["values"]["kid_excess"]
    s = summarize(v1)
    assert s["score"] is None and not s["rankable"] and "kid_excess" in s["reasons"][0]
    s = summarize({"domain": skipped("extractor failed"), "memorization": _groups()["memorization"]})
    assert s["score"] is None and not s["rankable"] and "extractor failed" in s["reasons"][0]
    assert not summarize({})["rankable"]


def test_recall_far_below_real_is_flagged():
    s = summarize(_groups(recall=0.40, recall_real=0.90))
    assert s["rankable"] and len(s["warnings"]) == 1 and "0.40" in s["warnings"][0]
    assert summarize(_groups(recall=0.46, recall_real=0.90))["warnings"] == []
