"""The ``summary`` block of a translation result (protocol 2.0): its ranking score and whether it may be ranked.

Same keys as a generation result's summary (:mod:`medganbench.bench.summary`), so the leaderboard reads
both the same way. The rule (docs/benchmark.md):

* paired tasks (denoise-mr, denoise-xray, superres-mr): ``score`` = the model's PSNR gain in dB over the
  best classical baseline (tuned on val), mean over seeds, higher is better; ``score_ci_*`` is the 95 %
  t-interval over seeds (None with one seed). Rankable when the gain was computed.
* unpaired tasks (pneumonia-to-normal): no single agreed score (cycle error, classifier judge and FID
  answer different questions), so never rankable; the table shows every group.
"""

from __future__ import annotations

import math

SCORE_NAME = "psnr_gain_db_over_best_baseline"
SUMMARY_KEYS = ("score", "score_name", "lower_is_better", "score_ci_low", "score_ci_high", "floor_low",
                "floor_high", "rankable", "reasons", "warnings")


def _number(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def summarize_translation(groups: dict) -> dict:
    """``result["metrics"]["translation"]`` -> the ``summary`` block (keys :data:`SUMMARY_KEYS`)."""
    groups = groups if isinstance(groups, dict) else {}
    gain = groups.get("gain")
    reasons: list[str] = []
    warnings: list[str] = []
    score = low = high = None
    if not isinstance(gain, dict):
        reasons.append("no gain over the classical baselines: unpaired translation has no single ranking score "
                       "(compare its cycle, classifier and FID groups instead).")
    elif gain.get("status") != "ok":
        reasons.append(f"the gain over the baselines was not computed: {gain.get('reason', 'no reason recorded')}.")
    else:
        values = gain.get("values") or {}
        score = _number(values.get("psnr_gain_mean"))
        std, n = _number(values.get("psnr_gain_std")), values.get("n_seeds")
        if score is None:
            reasons.append("psnr_gain_mean is missing from the gain group.")
        elif isinstance(n, int) and n >= 2 and std is not None:
            from scipy import stats

            half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
            low, high = score - half, score + half
        else:
            warnings.append("one seed only: the gain has no interval; run several seeds to rank with confidence.")
    # no floor: the baselines are the reference a translation model is scored against
    return {"score": score, "score_name": SCORE_NAME, "lower_is_better": False, "score_ci_low": low,
            "score_ci_high": high, "floor_low": None, "floor_high": None, "rankable": not reasons and score is not None, "reasons": reasons,
            "warnings": warnings}
