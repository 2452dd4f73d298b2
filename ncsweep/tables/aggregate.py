"""Pure pandas: from one row per run to one row per table cell (mean, std, best, n, expected).

A run counts for a cell only if it FINISHED and logged the metric. ``expected`` is how many runs
the study planned for the cell; cells with ``n < expected`` are marked by the renderers, never
silently averaged over fewer seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ncsweep.tables.methods import method_label

FINISHED = "FINISHED"
LABELS = ["stage", "dataset", "ssl", "augmentation", "zeta", "seed"]


def metric_col(metric: str) -> str:
    return f"metric.{metric}"


def add_method(runs: pd.DataFrame) -> pd.DataFrame:
    """Adds the ``method`` column (table column label) from ``ssl`` and ``augmentation``."""
    out = runs.copy()
    out["method"] = [
        method_label(s, a) for s, a in zip(out["ssl"], out["augmentation"], strict=False)
    ]
    return out


def fill_from_stage1(runs: pd.DataFrame) -> pd.DataFrame:
    """A stage-2 run without dataset/ssl/augmentation/zeta/seed tags takes them from the stage-1
    run it names in ``stage1_run_id``."""
    out = runs.copy()
    if "stage1_run_id" not in out or out.empty:
        return out
    by_id = out.set_index("run_id")
    for col in ["dataset", "ssl", "augmentation", "zeta", "seed"]:
        missing = out[col].isna() & out["stage1_run_id"].notna()
        if missing.any():
            parent = out.loc[missing, "stage1_run_id"]
            known = parent.isin(by_id.index)
            out.loc[parent[known].index, col] = by_id.loc[parent[known], col].to_numpy()
    return out


def plan_frame(plan: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The study plan (one mapping per trial: stage and labels, flat or under ``labels``)."""
    rows = [{**p.get("labels", {}), **{k: v for k, v in p.items() if k != "labels"}} for p in plan]
    df = pd.DataFrame(rows)
    for col in LABELS:
        if col not in df:
            df[col] = None
    df["zeta"] = pd.to_numeric(df["zeta"], errors="coerce")
    return df


def zetas(runs: pd.DataFrame) -> list[float]:
    """Distinct ζ of the SSL runs (the baseline has none)."""
    ssl = runs[runs["ssl"].fillna("none") != "none"]
    return sorted({round(float(z), 6) for z in ssl["zeta"].dropna()})


def main_subset(runs: pd.DataFrame, zeta: float) -> pd.DataFrame:
    """The main tables compare one ζ: keep the baseline and the SSL runs at ``zeta``."""
    baseline = runs["ssl"].fillna("none") == "none"
    return runs[baseline | np.isclose(runs["zeta"].astype(float), zeta)]


def expected_cells(
    runs: pd.DataFrame,
    keys: Sequence[str],
    plan: pd.DataFrame | None = None,
    expected_seeds: int | None = None,
) -> pd.DataFrame:
    """Cells and their planned run count: from the plan if given; else every cell that has a
    run, each expecting ``expected_seeds`` (else the number of distinct seeds seen)."""
    keys = list(keys)
    if plan is not None and not plan.empty:
        out = plan.groupby(keys, dropna=False).size().rename("expected").reset_index()
        extra = runs[keys].drop_duplicates().merge(out[keys], how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
        return pd.concat([out, extra.assign(expected=0)], ignore_index=True)
    cells = runs[keys].drop_duplicates().reset_index(drop=True)
    n = expected_seeds if expected_seeds is not None else runs["seed"].nunique()
    return cells.assign(expected=int(n))


def cell_stats(
    runs: pd.DataFrame, metric: str, keys: Sequence[str], expected: pd.DataFrame
) -> pd.DataFrame:
    """One row per cell: mean, std (ddof=1; NaN for one seed), min, max, n finished, expected."""
    keys, col = list(keys), metric_col(metric)
    if col in runs:
        done = runs[(runs["status"] == FINISHED) & runs[col].notna()]
    else:
        done = runs.iloc[0:0].assign(**{col: pd.Series(dtype=float)})
    agg = (
        done.groupby(keys, dropna=False)[col]
        .agg(mean="mean", std="std", min="min", max="max", n="count")
        .reset_index()
    )
    out = expected.merge(agg, on=keys, how="outer")
    out["n"] = out["n"].fillna(0).astype(int)
    out["expected"] = out["expected"].fillna(0).astype(int)
    return out.sort_values(keys).reset_index(drop=True)


def best_of(stats: pd.DataFrame, stat: str, lower_is_better: bool) -> pd.Series:
    """The value a table shows per cell: the mean, or the best seed (min or max)."""
    if stat == "mean":
        return stats["mean"]
    return stats["min"] if lower_is_better else stats["max"]
