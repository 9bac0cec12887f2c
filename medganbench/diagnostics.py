"""Training diagnostics: pure numpy functions that flag mode collapse, oscillation and a winning D.

They read what a run already has (images, the rows of ``log.csv``) and return numbers and verdicts;
nothing here trains or imports TensorFlow. The Trainer logs the live indicators each log row and writes
the verdicts into ``run.json`` under ``diagnostics``; notebooks 03 and 10 plot them.

- **Mode collapse** -- :func:`diversity_ratio`: mean pairwise distance within a *fixed-noise* batch of
  generated images divided by the same within a fixed batch of real images (both in the same space:
  pixels by default, or any feature vectors). ≈1 when the generator is as varied as the data; a collapsed
  generator draws near-identical images whatever z is, so the ratio falls towards 0.
- **Oscillation** -- :func:`oscillation_index`: after removing a linear trend from a loss series, the share
  of its variance in the single strongest frequency. Noise spreads its power over all frequencies; a limit
  cycle (players chasing each other) puts most of it in one. The verdict compares the index with the
  99 % quantile of the same index on white noise of the same length (:func:`oscillation_null_quantile`).
- **A discriminator that wins** -- :func:`discriminator_wins`: D's output on fakes pinned near its floor
  at the end of the run (probability < 0.05 for cross-entropy losses), so the generator's gradient is
  that of a saturated classifier.

Thresholds are documented defaults, not laws: each verdict carries the number it came from.
"""

from __future__ import annotations

import math

import numpy as np

COLLAPSE_THRESHOLD = 0.5       # diversity ratio below this: "collapsed"
OSCILLATION_QUANTILE = 0.99    # dominant-frequency share above this quantile of white noise: "oscillating"
D_WINS_THRESHOLD = 0.05        # mean D(G(z)) below this over the last quarter: "discriminator wins"


def mean_pairwise_distance(x) -> float:
    """Mean Euclidean distance over all pairs ``i < j`` of ``x`` (``(N, ...)``, flattened per item; N >= 2)."""
    a = np.asarray(x, np.float64).reshape(len(x), -1)
    if len(a) < 2:
        raise ValueError(f"need at least 2 items for a pairwise distance, got {len(a)}")
    sq = np.sum(a * a, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * a @ a.T, 0.0)
    iu = np.triu_indices(len(a), k=1)
    return float(np.sqrt(d2[iu]).mean())


def diversity_ratio(generated, reference) -> float:
    """Mean pairwise distance of ``generated`` over that of ``reference`` (same space; each ``(N, ...)``).

    Range ``[0, inf)``; ≈1 for a generator as varied as the data, → 0 under mode collapse. Use equal N:
    the estimate is unbiased in N, but its spread is not.
    """
    ref = mean_pairwise_distance(reference)
    if ref == 0:
        raise ValueError("the reference batch has no diversity (all items identical)")
    return mean_pairwise_distance(generated) / ref


def oscillation_index(series) -> float:
    """Share of a series' detrended variance in its strongest non-zero frequency, in ``[0, 1]``.

    series: 1-D, at least 8 finite values (fewer -> NaN: too short to tell). A pure sinusoid gives ≈1,
    white noise about ``2·ln(n)/n``. NaNs are dropped first.
    """
    y = np.asarray(series, np.float64).ravel()
    y = y[np.isfinite(y)]
    n = len(y)
    if n < 8:
        return float("nan")
    t = np.arange(n)
    y = y - np.polyval(np.polyfit(t, y, 1), t)
    power = np.abs(np.fft.rfft(y * np.hanning(n))) ** 2
    power = power[1:]  # drop the mean
    total = power.sum()
    if total <= 1e-300:
        return 0.0
    # Periods of n and n/2 are slow drift, not a cycle: the peak is searched from period n/3 on.
    # A peak leaks into its neighbours through the window: count the strongest bin with them.
    k = 2 + int(np.argmax(power[2:]))
    return float(power[k - 1:k + 2].sum() / total)


_NULL_CACHE: dict[tuple[int, float], float] = {}


def oscillation_null_quantile(n: int, q: float = 0.99) -> float:
    """The ``q`` quantile of :func:`oscillation_index` on white noise of length ``n`` (seeded simulation).

    A series is called oscillating only above it: the index of pure noise is large for short series.
    """
    key = (int(n), float(q))
    if key not in _NULL_CACHE:
        rng = np.random.default_rng(12345)
        _NULL_CACHE[key] = float(np.quantile([oscillation_index(rng.standard_normal(n)) for _ in range(400)], q))
    return _NULL_CACHE[key]


def relative_amplitude(series) -> float:
    """Standard deviation of the detrended series over its mean absolute level (0 for a constant)."""
    y = np.asarray(series, np.float64).ravel()
    y = y[np.isfinite(y)]
    if len(y) < 3:
        return float("nan")
    t = np.arange(len(y))
    resid = y - np.polyval(np.polyfit(t, y, 1), t)
    level = float(np.mean(np.abs(y)))
    return float(resid.std() / level) if level > 0 else float(resid.std())


def discriminator_wins(d_fake, probability: bool = True) -> dict:
    """Verdict on D's output for fakes (a log column): ``{"value", "wins", "reason"}``.

    Only meaningful for probability outputs (``minimax``/``nonsaturating`` losses); otherwise ``wins`` is
    None with the reason, because raw scores have no fixed floor.
    """
    y = np.asarray(d_fake, np.float64).ravel()
    y = y[np.isfinite(y)]
    if not probability:
        return {"value": None, "wins": None, "reason": "D's outputs are raw scores for this loss; no fixed floor"}
    if len(y) < 4:
        return {"value": None, "wins": None, "reason": f"only {len(y)} logged values"}
    tail = float(y[-max(len(y) // 4, 1):].mean())
    return {"value": round(tail, 4), "wins": tail < D_WINS_THRESHOLD,
            "reason": f"mean D(G(z)) over the last quarter of the log {'<' if tail < D_WINS_THRESHOLD else '>='} "
                      f"{D_WINS_THRESHOLD}"}


def diagnose(rows: list[dict], probability_outputs: bool = True) -> dict:
    """Verdicts from the rows of a ``log.csv`` (dicts of column -> value).

    Returns ``{"mode_collapse": {...}, "oscillation": {...}, "discriminator_wins": {...}}``; each has the
    number it is based on, a boolean verdict (None when it cannot be judged) and the reason.
    """
    def col(name):
        return np.array([float(r[name]) for r in rows if r.get(name) not in (None, "")], np.float64)

    out: dict = {}
    div = col("diversity_ratio") if rows and "diversity_ratio" in rows[0] else np.array([])
    if len(div):
        last = float(div[-1])
        out["mode_collapse"] = {"value": round(last, 4), "collapsed": last < COLLAPSE_THRESHOLD,
                                "reason": f"fixed-noise diversity ratio at the end {last:.3f} "
                                          f"{'<' if last < COLLAPSE_THRESHOLD else '>='} {COLLAPSE_THRESHOLD}"}
    else:
        out["mode_collapse"] = {"value": None, "collapsed": None, "reason": "no diversity_ratio column logged"}
    loss_name = "discriminator_loss" if rows and "discriminator_loss" in rows[0] else None
    if loss_name is None:
        out["oscillation"] = {"value": None, "oscillating": None, "reason": "no discriminator_loss column"}
    else:
        series = col(loss_name)
        idx, amp = oscillation_index(series), relative_amplitude(series)
        if math.isnan(idx):
            out["oscillation"] = {"value": None, "oscillating": None,
                                  "reason": f"only {len(series)} logged values (need 8)"}
        else:
            null = oscillation_null_quantile(len(series), OSCILLATION_QUANTILE)
            osc = idx > null and amp > 0.05
            out["oscillation"] = {"value": round(idx, 4), "relative_amplitude": round(amp, 4), "oscillating": osc,
                                  "reason": f"dominant-frequency share of the D loss {idx:.2f} vs {null:.2f} for "
                                            f"white noise ({OSCILLATION_QUANTILE:.0%} quantile, n={len(series)}), "
                                            f"relative amplitude {amp:.2f} (needs > 0.05)"}
    if rows and "d_fake" in rows[0]:
        out["discriminator_wins"] = discriminator_wins(col("d_fake"), probability_outputs)
    else:
        out["discriminator_wins"] = {"value": None, "wins": None, "reason": "no d_fake column"}
    return out
