"""Statistics and the printed report of benchmarks/reproduce.py: mean ± sd over seeds, the paired
difference to the baseline and its Wilcoxon test."""

from __future__ import annotations

import math
import statistics
from itertools import combinations

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
    out["subset_agreement"] = subset_agreement(diff)
    out["p"], out["note"] = None, ""
    if not nonzero and diff:
        out["p"], out["note"] = 1.0, "all differences are zero"
    elif out["min_attainable_p"] >= ALPHA:
        out["note"] = f"n = {len(nonzero)}: exact p >= {out['min_attainable_p']:.4g}"
    else:
        from scipy.stats import wilcoxon

        out["p"] = float(wilcoxon(nonzero, alternative="two-sided").pvalue)
    return out


def subset_agreement(diff: list[float]) -> dict[int, float]:
    """{k: share of the k-seed subsets whose mean difference has the sign of the mean over all
    seeds}, k = 1 .. n-1: how many seeds a check needs before its verdict stops depending on which
    seeds it drew (issue 11 §4). Empty when the overall mean is zero or there are < 2 seeds."""
    total = sum(diff)
    if len(diff) < 2 or total == 0.0:
        return {}
    sign = math.copysign(1.0, total)
    out = {}
    for k in range(1, len(diff)):
        sums = [sum(c) for c in combinations(diff, k)]
        out[k] = sum(x != 0.0 and math.copysign(1.0, x) == sign for x in sums) / len(sums)
    return out


def fmt(stat: dict) -> str:
    if stat["n"] == 0:
        return "-"
    sd = "" if stat["sd"] is None else f" ± {stat['sd']:.3f}"
    return f"{stat['mean']:.3f}{sd}"


def fmt_test(diff: dict) -> str:
    if diff["n"] == 0:
        return "no paired seeds"
    if diff["p"] is None:
        return f"too few seeds for Wilcoxon ({diff['note']})"
    return f"Wilcoxon p = {diff['p']:.4f} (n = {diff['n_nonzero']})"


def report(summary: dict, args, baseline: str) -> str:
    """The printed table: per check, mean ± sd per method, then each SSL method − baseline."""
    lines = [
        f"stage-1 probes (KNN k=5, linear SVM; whole test split), aug {args.augmentation}, "
        f"zeta {args.zeta}, projector {args.proj_width}, batch {args.batch_size}",
    ]
    for check, methods in summary.items():
        seeds = methods[baseline]["knn_acc"]["n"] if baseline in methods else "?"
        lines.append(f"\n{check}, {seeds} seeds")
        lines.append(f"  {'method':<14}{'KNN':>16}{'SVM':>16}{'train s/epoch':>16}")
        for method, s in methods.items():
            spe = s["train_s_per_epoch"]
            spe_s = "-" if spe is None else f"{spe:.2f}"
            lines.append(f"  {method:<14}{fmt(s['knn_acc']):>16}{fmt(s['svm_acc']):>16}{spe_s:>16}")
        for method, s in methods.items():
            for probe, d in s.get("vs_baseline", {}).items():
                lines.append(f"  {method} - {baseline} {probe[:3].upper()}: {_diff_line(d)}")
    return "\n".join(lines)


def _diff_line(d: dict) -> str:
    per_seed = " ".join(f"{x:+.3f}" for x in d["diff"])
    wins = f"above in {d['n_above']}, below in {d['n_below']} of {d['n']} seeds"
    line = f"{fmt(d)}  (per seed: {per_seed}; {wins}); {fmt_test(d)}"
    agree = d.get("subset_agreement") or {}
    if len(agree) > 1:
        shares = ", ".join(f"{k}: {v:.0%}" for k, v in agree.items() if k > 1)
        line += f"; subsets of k seeds with the same sign: {shares}"
    return line


def build_summary(records: list[dict], baseline: str, probes: tuple[str, ...]) -> dict:
    """{check: {method: {probe: mean/sd, train_s_per_epoch, vs_baseline: {probe: paired}}}}."""
    out: dict = {}
    for r in records:
        out.setdefault(r["check"], {}).setdefault(r["method"], []).append(r)
    summary: dict = {}
    for check, by_method in out.items():
        base = {r["seed"]: r for r in by_method.get(baseline, [])}
        summary[check] = {}
        for method, rs in by_method.items():
            s = {k: summarise([r[k] for r in rs]) for k in probes}
            spe = [r["train_s_per_epoch"] for r in rs if r["train_s_per_epoch"] is not None]
            s["train_s_per_epoch"] = statistics.median(spe) if spe else None
            if method != baseline:
                mine = {r["seed"]: r for r in rs}
                s["vs_baseline"] = {
                    k: paired_difference(
                        {sd: r[k] for sd, r in mine.items()}, {sd: r[k] for sd, r in base.items()}
                    )
                    for k in probes
                }
            summary[check][method] = s
    return summary
