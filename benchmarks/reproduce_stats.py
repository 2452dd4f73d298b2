"""Statistics of benchmarks/reproduce.py: mean ± sd over seeds and the paired test to the baseline."""

from __future__ import annotations

import math
import statistics

ALPHA = 0.05  # a Wilcoxon p is reported only where the exact test could go below this


def summarise(values: list[float]) -> dict:
    """Mean and sample sd (ddof=1; None for a single value) of the finite values."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    return {
        "n": len(xs),
        "mean": statistics.fmean(xs) if xs else None,
        "sd": statistics.stdev(xs) if len(xs) > 1 else None,
        "values": xs,
    }


def min_exact_p(n: int) -> float:
    """Smallest two-sided p of the exact signed-rank test with n non-zero pairs: all signs equal."""
    return min(1.0, 2.0 / 2**n)


def paired_difference(method: dict[int, float], baseline: dict[int, float]) -> dict:
    """method − baseline per seed both have: mean ± sd and the two-sided Wilcoxon p-value.

    The p-value is None (with a note) when even all-one-sign differences could not reach
    p < ALPHA: then the test says nothing, whatever the data (n = 5 pairs: p >= 0.0625).
    Zero differences are dropped, as in scipy's default zero_method="wilcox".
    """
    seeds = sorted(set(method) & set(baseline))
    diff = [float(method[s]) - float(baseline[s]) for s in seeds]
    out = {"seeds": seeds, "diff": diff, **summarise(diff)}
    out.pop("values")
    nonzero = [d for d in diff if d != 0.0]
    out["n_nonzero"] = len(nonzero)
    out["n_above"] = sum(d > 0 for d in diff)  # seeds where the method beats the baseline
    out["n_below"] = sum(d < 0 for d in diff)
    out["min_attainable_p"] = min_exact_p(len(nonzero))
    out["p"], out["note"] = None, ""
    if not nonzero and diff:
        out["p"], out["note"] = 1.0, "all differences are zero"
    elif out["min_attainable_p"] >= ALPHA:
        out["note"] = f"n = {len(nonzero)}: exact p >= {out['min_attainable_p']:.4g}"
    else:
        from scipy.stats import wilcoxon

        out["p"] = float(wilcoxon(nonzero, alternative="two-sided").pvalue)
    return out
