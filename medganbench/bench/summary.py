"""The one number a generation result is ranked by, and whether it may be ranked at all (protocol 2.0).

``summarize(groups)`` turns a result's generation metric groups (``result["metrics"]["generation"]``:
``domain``, ``memorization``, ...) into the top-level ``summary`` block of ``result.json``::

    {"score": 1.7, "score_name": "kid_excess_x1000", "lower_is_better": True, "score_ci_low": 0.9,
     "score_ci_high": 2.6, "floor_low": -1.1, "floor_high": 19.0, "rankable": True, "reasons": [], "warnings": []}

The score (why KID and not FID; the numbers behind each rule are in docs/metrics.md):

* ``score = 1000 × kid_excess``: the generated set's KID against the training split minus the mean KID
  of same-distribution real images the generator never saw (the validation split), in the domain
  feature space. Real unseen data scores about 0 (inside the floor's range); higher is worse.
* KID is unbiased, so its expected value does not depend on the sample count; it is defined, with a
  wider interval, for sets as small as :data:`MIN_RANKABLE_N` (500) images, where FID with 128-d features
  (minimum ``10 × D`` images) must be withheld. ``score_ci_*`` is the paired interval of ``kid_excess``;
  ``floor_low``/``floor_high`` the range (same units) in which real unseen images of the same n score.

Ranking rules (``rankable`` is False, with one line per rule in ``reasons``, when any fails):

1. the domain metrics were computed and the score is a number;
2. the memorization check ran and did not flag the set (a copier is never rankable);
3. at least :data:`MIN_RANKABLE_N` images were evaluated.

Warnings (rankable stays True, the leaderboard shows them): ``recall`` (at equal n, mean of draws) below
:data:`RECALL_WARN_RATIO` × the real-vs-real recall at the same n (``recall_real``): the generator misses
much of the data's variety (mode dropping / collapse).
"""

from __future__ import annotations

import math

SCORE_NAME = "kid_excess_x1000"
#: KID values in the domain space are ~1e-3..1e-1; ×1000 makes the score read like 0.3, 12, 80.
SCORE_SCALE = 1000.0
#: Fewest generated images a rankable result may have (PneumoniaMNIST's val split has 524).
MIN_RANKABLE_N = 500
#: Recall below this fraction of the real-vs-real recall is flagged as mode dropping.
RECALL_WARN_RATIO = 0.5

SUMMARY_KEYS = ("score", "score_name", "lower_is_better", "score_ci_low", "score_ci_high", "floor_low",
                "floor_high", "rankable", "reasons", "warnings")


def _number(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _values(group) -> dict | None:
    if isinstance(group, dict) and group.get("status") == "ok" and isinstance(group.get("values"), dict):
        return group["values"]
    return None


def summarize(groups: dict) -> dict:
    """``result["metrics"]["generation"]`` -> the ``summary`` block (keys :data:`SUMMARY_KEYS`).

    groups: metric groups as written by :func:`medganbench.bench.result.metric_group` /
    :func:`~medganbench.bench.result.skipped`; only ``domain`` and ``memorization`` are read.
    ``score`` is ``None`` when the domain group is missing or has no ``kid_excess``.
    """
    reasons: list[str] = []
    warnings: list[str] = []
    groups = groups if isinstance(groups, dict) else {}
    dom = _values(groups.get("domain"))
    score = low = high = floor_low = floor_high = None
    if dom is None:
        why = (groups.get("domain") or {}).get("reason") if isinstance(groups.get("domain"), dict) else None
        reasons.append(f"the domain metrics were not computed{': ' + why if why else ''}.")
    else:
        excess = _number(dom.get("kid_excess"))
        if excess is None:
            reasons.append("kid_excess is missing: the result was made before protocol 2.0 or without the "
                           f"held-out real split ({dom.get('kid_floor_reason') or 'no reason recorded'}).")
        else:
            score = SCORE_SCALE * excess
            lo, hi = _number(dom.get("kid_excess_ci_low")), _number(dom.get("kid_excess_ci_high"))
            low = None if lo is None else SCORE_SCALE * lo
            high = None if hi is None else SCORE_SCALE * hi
            mean, f_lo, f_hi = (_number(dom.get(k)) for k in ("kid_floor_mean", "kid_floor_low", "kid_floor_high"))
            if None not in (mean, f_lo, f_hi):
                floor_low, floor_high = SCORE_SCALE * (f_lo - mean), SCORE_SCALE * (f_hi - mean)
        n = dom.get("n_fake")
        if isinstance(n, int) and n < MIN_RANKABLE_N:
            reasons.append(f"only {n} images were evaluated; ranking needs at least {MIN_RANKABLE_N} "
                           f"(KID's interval is too wide below that).")
        recall, recall_real = _number(dom.get("recall")), _number(dom.get("recall_real"))
        if recall is not None and recall_real is not None and recall < RECALL_WARN_RATIO * recall_real:
            warnings.append(f"recall {recall:.2f} is below {RECALL_WARN_RATIO:g} x the real-vs-real recall "
                            f"{recall_real:.2f} at the same n: the generator misses much of the data's variety "
                            f"(mode dropping).")
    memo_group = groups.get("memorization")
    memo = _values(memo_group)
    if memo is None:
        why = memo_group.get("reason") if isinstance(memo_group, dict) else None
        reasons.append(f"the memorization check did not run{': ' + why if why else ''}; an unchecked set "
                       f"could be a copier.")
    elif memo.get("memorized") is not False:
        reasons.append(f"memorized: {memo.get('memorized_reason') or 'the memorization check flagged the set'}.")
    return {"score": score, "score_name": SCORE_NAME, "lower_is_better": True, "score_ci_low": low,
            "score_ci_high": high, "floor_low": floor_low, "floor_high": floor_high, "rankable": not reasons and score is not None, "reasons": reasons,
            "warnings": warnings}
