"""The statistics of every table metric, from the same runs the main tables use (issue 17 §1).

Per cell: a 95 % interval of the mean over seeds. Across datasets (each cell reduced to its mean
over seeds, as in Table 6.3/6.6): Wilcoxon signed-rank per method pair with Holm's correction,
mean ranks, Friedman / Iman-Davenport, Nemenyi's CD, and the cliques the CD diagram draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ncsweep.tables import aggregate as A
from ncsweep.tables import stats as S
from ncsweep.tables.build import MAIN_ZETA, main_runs
from ncsweep.tables.methods import order_methods
from ncsweep.tables.specs import MetricSpec, TableOptions, order_datasets, table_metrics

LEVEL = 0.95


@dataclass
class MetricStats:
    metric: MetricSpec
    ci: pd.DataFrame  # one row per cell: dataset, method, n, mean, std, ci_lo, ci_hi
    values: pd.DataFrame  # datasets × methods: each cell's mean over seeds
    pairs: pd.DataFrame  # one row per method pair (stats.PAIR_COLUMNS + p_holm, significant)
    ranks: pd.Series  # mean rank per method, best first
    n_ranked: int  # datasets where every method has a value
    friedman: tuple[float, float, float, float]  # χ²_F, p, F_F, p
    cd: float  # Nemenyi critical difference at alpha
    cliques: list[list[str]]
    options: TableOptions
    notes: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.values.columns)


def seed_values(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Finished runs that logged ``metric``: dataset, method, seed, value."""
    col = A.metric_col(metric)
    if col not in runs:
        return pd.DataFrame(columns=["dataset", "method", "seed", "value"])
    done = runs[(runs["status"] == A.FINISHED) & runs[col].notna()]
    out = done[["dataset", "method", "seed"]].assign(value=done[col].astype(float))
    return out.assign(dataset=out["dataset"].astype(str)).reset_index(drop=True)


def cell_intervals(values: pd.DataFrame, options: TableOptions) -> pd.DataFrame:
    rows = []
    for (ds, method), g in values.groupby(["dataset", "method"]):
        x = g["value"].to_numpy()
        if options.ci == "t":
            lo, hi = S.t_interval(x, LEVEL)
        else:
            lo, hi = S.bootstrap_interval(x, LEVEL, options.n_boot)
        std = float(x.std(ddof=1)) if len(x) > 1 else math.nan
        rows.append({"dataset": ds, "method": method, "n": len(x), "mean": float(x.mean()),
                     "std": std, "ci_lo": lo, "ci_hi": hi})  # fmt: skip
    cols = ["dataset", "method", "n", "mean", "std", "ci_lo", "ci_hi"]
    return pd.DataFrame(rows, columns=cols).assign(ci=options.ci, level=LEVEL)


def _pivot(ci: pd.DataFrame) -> pd.DataFrame:
    wide = ci.pivot(index="dataset", columns="method", values="mean")
    return wide.reindex(index=order_datasets(wide.index), columns=order_methods(wide.columns))


def metric_stats(runs: pd.DataFrame, metric: MetricSpec, options: TableOptions) -> MetricStats:
    ci = cell_intervals(seed_values(runs, metric.name), options)
    values = _pivot(ci)
    pairs = S.pairwise_wilcoxon(values, list(values.columns), options.alpha)
    ranks, n_ranked = S.mean_ranks(values, metric.lower_is_better)
    ranks = ranks.sort_values(kind="stable")
    cd = S.nemenyi_cd(len(values.columns), n_ranked, options.alpha)
    out = MetricStats(
        metric, ci, values, pairs, ranks, n_ranked, S.friedman(values), cd, [], options
    )
    out.cliques = S.cliques(list(ranks.index), _same(out))
    out.notes = _notes(out)
    return out


def _same(ms: MetricStats):
    """The rule the CD diagram's bars use: pairs not told apart."""
    if ms.options.cliques == "nemenyi":
        return lambda a, b: abs(ms.ranks[a] - ms.ranks[b]) < ms.cd
    p = {frozenset((r.a, r.b)): r.p_holm for r in ms.pairs.itertuples()}
    return lambda a, b: not p.get(frozenset((a, b)), 1.0) < ms.options.alpha


def _notes(ms: MetricStats) -> list[str]:
    notes, alpha = [], ms.options.alpha
    single = int((ms.ci["n"] < 2).sum())
    if single:
        notes.append(f"{single} cell(s) with fewer than two seeds have no interval.")
    floor = S.smallest_wilcoxon_p(ms.n_ranked)
    if floor >= alpha:
        notes.append(
            f"Only {ms.n_ranked} dataset(s) with every method: the Wilcoxon test's smallest "
            f"possible p is {floor:.3g} ≥ {alpha:g}, so no pair can be called different "
            "(it needs at least 6 datasets); the tests below say nothing."
        )
    if ms.k >= 2 and not ms.cd < ms.k - 1:
        notes.append(
            f"Nemenyi CD = {ms.cd:.2f} is not below the widest possible rank gap ({ms.k - 1}): "
            f"with N = {ms.n_ranked} no two methods can be told apart."
        )
    return notes


def study_stats(
    runs: pd.DataFrame, options: TableOptions, main_zeta: float = MAIN_ZETA
) -> tuple[list[MetricStats], list[str]]:
    """Statistics for every table metric the runs logged (``runs`` as from build.prepare)."""
    out, notes = [], []
    for metric, stage in table_metrics():
        r, _, _ = main_runs(runs, None, stage, main_zeta)
        if r.empty or A.metric_col(metric.name) not in r:
            notes.append(f"Statistics ({metric.name}): no {stage} run logged it; skipped.")
            continue
        ms = metric_stats(r, metric, options)
        if ms.ci.empty:
            notes.append(f"Statistics ({metric.name}): no finished run; skipped.")
            continue
        out.append(ms)
    return out, notes
