"""Statistics beside the tables (issue 17 §1): per-cell confidence intervals over seeds, paired
Wilcoxon signed-rank tests across datasets with Holm's correction, mean ranks, the Friedman test
and Nemenyi's critical difference (Demšar 2006, JMLR 7:1-30). Pure numpy/pandas/scipy."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st


def t_interval(x: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of ``x``; NaN bounds for fewer than two values."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    half = st.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def bootstrap_interval(
    x: Sequence[float], level: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean (seeded: the same runs give the same table).
    With four seeds there are only 35 distinct resamples: coarse, and narrower than the t."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, len(x)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    return float(lo), float(hi)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979); NaN entries are not counted as tests."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m, running = len(order), 0.0
    for i, j in enumerate(order):
        running = max(running, (m - i) * p[j])  # keeps the adjusted values monotone
        out[j] = min(1.0, running)
    return out


def smallest_wilcoxon_p(n: int) -> float:
    """The smallest two-sided p the exact signed-rank test can give with ``n`` non-zero
    differences (all of one sign): 2 / 2**n. Below 6 datasets it never reaches 0.05."""
    return min(1.0, 2.0 / 2.0**n) if n > 0 else 1.0


def wilcoxon_pair(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float, str]:
    """(n paired datasets, statistic, two-sided p, method) of scipy's signed-rank test on
    ``a - b``. Zero differences are dropped (Wilcoxon's rule, scipy's default). The exact null
    distribution without ties (n ≤ 50); with tied |differences| the normal approximation with
    tie correction (scipy's permutation fallback takes seconds per pair). No non-zero
    difference: statistic NaN, p = 1."""
    d = np.asarray(a, float) - np.asarray(b, float)
    nz = d[d != 0]
    if len(nz) == 0:
        return len(d), math.nan, 1.0, "none"
    ties = len(np.unique(np.abs(nz))) < len(nz)
    method = "approx" if ties or len(nz) > 50 else "exact"
    res = st.wilcoxon(nz, method=method)
    return len(d), float(res.statistic), float(res.pvalue), method


PAIR_COLUMNS = ["a", "b", "test", "n", "n_nonzero", "statistic", "p", "median_diff"]


def pairwise_wilcoxon(
    values: pd.DataFrame, methods: Sequence[str], alpha: float = 0.05
) -> pd.DataFrame:
    """``values``: datasets × methods (one value per cell, e.g. the mean over seeds). Each pair is
    tested on the datasets where both have a value; Holm's correction runs over all pairs."""
    rows = []
    for a, b in itertools.combinations(methods, 2):
        both = values[[a, b]].dropna()
        n, stat, p, how = wilcoxon_pair(both[a].to_numpy(), both[b].to_numpy())
        nonzero = int(np.count_nonzero(both[a].to_numpy() - both[b].to_numpy()))
        rows.append(
            {"a": a, "b": b, "test": f"wilcoxon ({how})", "n": n, "n_nonzero": nonzero,
             "statistic": stat, "p": p if n else math.nan,
             "median_diff": float(np.median(both[a] - both[b])) if n else math.nan}
        )  # fmt: skip
    out = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    out["note"] = [_pair_note(r, alpha) for r in out.itertuples()]
    return out


def _pair_note(r, alpha: float) -> str:
    if r.n == 0:
        return "no dataset has both methods"
    floor = smallest_wilcoxon_p(r.n_nonzero)
    if floor >= alpha:
        return f"n = {r.n_nonzero} non-zero differences: p cannot go below {floor:.3g} ≥ {alpha:g}"
    return ""


def mean_ranks(values: pd.DataFrame, lower_is_better: bool) -> tuple[pd.Series, int]:
    """Mean rank of each method over the datasets where every method has a value (rank 1 =
    best; ties share the average rank, Demšar 2006 §3.2.2), and how many datasets that was."""
    full = values.dropna()
    ranks = full.rank(axis=1, ascending=lower_is_better, method="average")
    return ranks.mean(axis=0), len(full)


def friedman(values: pd.DataFrame) -> tuple[float, float, float, float]:
    """(χ²_F, p, Iman-Davenport F_F, its p) over complete datasets; NaN where undefined
    (fewer than 3 methods or 2 datasets)."""
    full = values.dropna()
    n, k = full.shape
    if k < 3 or n < 2:
        return (math.nan,) * 4
    chi2, p = st.friedmanchisquare(*[full[c].to_numpy() for c in full])
    ff, pf = iman_davenport(float(chi2), n, k)
    return float(chi2), float(p), ff, pf


def iman_davenport(chi2: float, n: int, k: int) -> tuple[float, float]:
    """F_F = (N-1)χ²_F / (N(k-1) - χ²_F), F-distributed with (k-1, (k-1)(N-1)) degrees."""
    denom = n * (k - 1) - chi2
    if denom <= 0:  # every dataset ranks the methods the same way
        return math.inf, 0.0
    ff = (n - 1) * chi2 / denom
    return float(ff), float(st.f.sf(ff, k - 1, (k - 1) * (n - 1)))


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """q_α of the Nemenyi test: the studentized range quantile over √2 (Demšar's Table 5a)."""
    return float(st.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical difference of mean ranks: q_α √(k(k+1) / (6N))."""
    if k < 2 or n < 1:
        return math.nan
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def cliques(order: Sequence[str], same: Callable[[str, str], bool]) -> list[list[str]]:
    """Maximal runs of methods, consecutive in ``order`` (by mean rank), that are pairwise not
    told apart (``same``); runs inside a longer one and single methods are left out."""
    out: list[list[str]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and all(same(order[m], order[j + 1]) for m in range(i, j + 1)):
            j += 1
        run = list(order[i : j + 1])
        if len(run) > 1 and not any(set(run) <= set(o) for o in out):
            out.append(run)
    return out
