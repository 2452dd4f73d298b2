"""Build the thesis tables and the ζ-ablation table from a DataFrame of runs (pure pandas)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ncsweep.tables import aggregate as A
from ncsweep.tables.methods import order_methods
from ncsweep.tables.render import Grid, build_grid
from ncsweep.tables.specs import ABLATION, TABLES, TableSpec

MAIN_ZETA = 0.2  # study.md: the main study's SSL variants all use ζ = 0.2


@dataclass
class BuiltTable:
    spec: TableSpec
    grid: Grid
    stats: pd.DataFrame  # one row per cell, numeric (for CSV / Parquet)
    stem: str


def prepare(runs: pd.DataFrame) -> pd.DataFrame:
    """Labels of stage-2 runs filled from their stage-1 run, and the ``method`` column."""
    return A.add_method(A.fill_from_stage1(runs))


def _stage(df: pd.DataFrame | None, stage: str) -> pd.DataFrame | None:
    return None if df is None else df[df["stage"] == stage]


def _caption(spec: TableSpec, stats: pd.DataFrame) -> str:
    seeds = int(stats["expected"].max()) if len(stats) else 0
    what = "Mean ± std" if spec.stat == "mean" else "Best"
    return f"{what} over {seeds} seeds per cell; best per row in **bold**."


def _table(spec, runs, plan, expected_seeds, keys, row, col, cols, stem) -> BuiltTable:
    expected = A.expected_cells(runs, keys, plan, expected_seeds)
    stats = A.cell_stats(runs, spec.metric, keys, expected)
    stats["_row"], stats["_col"] = row(stats), col(stats)
    grid = build_grid(
        stats,
        "_row",
        "_col",
        spec.stat,
        spec.lower_is_better,
        spec.fmt,
        cols(stats),
        spec.title,
        _caption(spec, stats),
    )
    stats["value"] = A.best_of(stats, spec.stat, spec.lower_is_better)
    stats["bold"] = [
        (str(r), str(c)) in grid.bold for r, c in zip(stats["_row"], stats["_col"], strict=False)
    ]
    stats["mark"] = [
        grid.marks.get((str(r), str(c)), "")
        for r, c in zip(stats["_row"], stats["_col"], strict=False)
    ]
    meta = {"table": spec.number, "metric": spec.metric, "stat": spec.stat}
    stats = stats.drop(columns=["_row", "_col"]).assign(**meta)
    return BuiltTable(spec, grid, stats, stem)


def _usable(spec: TableSpec, runs: pd.DataFrame, notes: list[str]) -> bool:
    if runs.empty:
        notes.append(f"Table {spec.number} ({spec.metric}): no {spec.stage} runs; skipped.")
        return False
    if A.metric_col(spec.metric) not in runs:
        notes.append(f"Table {spec.number} ({spec.metric}): no run logged it; skipped.")
        return False
    return True


def build_main(
    runs, plan=None, expected_seeds=None, main_zeta=MAIN_ZETA
) -> tuple[list[BuiltTable], list[str]]:
    """Tables 6.1-6.7: rows = datasets, columns = methods. With several ζ in the study, the SSL
    columns use ``main_zeta`` (the ablation table shows the rest)."""
    out, notes = [], []
    for spec in TABLES:
        r, p = runs[runs["stage"] == spec.stage], _stage(plan, spec.stage)
        if len(A.zetas(r)) > 1:
            r = A.main_subset(r, main_zeta)
            p = None if p is None else A.main_subset(p, main_zeta)
            notes.append(f"Table {spec.number} ({spec.metric}): SSL columns at ζ = {main_zeta:g}.")
        if not _usable(spec, r, notes):
            continue
        keys = ["dataset", "method"]
        built = _table(
            spec, r, p, expected_seeds, keys,
            row=lambda s: s["dataset"].astype(str),
            col=lambda s: s["method"],
            cols=lambda s: order_methods(s["method"]),
            stem=spec.stem,
        )  # fmt: skip
        out.append(built)
    return out, notes


def build_ablation(runs, plan=None, expected_seeds=None) -> tuple[list[BuiltTable], list[str]]:
    """ζ ablation: rows = dataset · method (SSL runs only), columns = ζ; mean over seeds."""
    r = runs[(runs["stage"] == "stage1") & (runs["ssl"].fillna("none") != "none")]
    if len(A.zetas(r)) < 2:
        return [], ["ζ-ablation table: fewer than two ζ values among the SSL runs; skipped."]
    p = _stage(plan, "stage1")
    p = None if p is None else p[p["ssl"].fillna("none") != "none"]
    out, notes = [], []
    for spec in ABLATION:
        if not _usable(spec, r, notes):
            continue
        built = _table(
            spec, r, p, expected_seeds, ["dataset", "method", "zeta"],
            row=lambda s: s["dataset"].astype(str) + " · " + s["method"],
            col=lambda s: s["zeta"].map(lambda z: f"ζ = {z:g}"),
            cols=lambda s: [f"ζ = {z:g}" for z in sorted(s["zeta"].unique())],
            stem=f"table_zeta_{spec.metric}_mean",
        )  # fmt: skip
        built.grid.row_header = "Dataset · method"
        out.append(built)
    return out, notes


def build_all(
    runs, plan=None, expected_seeds=None, main_zeta=MAIN_ZETA
) -> tuple[list[BuiltTable], list[str]]:
    """Every table the runs support, and notes on the ones skipped."""
    runs = prepare(runs)
    plan = prepare(plan) if plan is not None else None
    main, n1 = build_main(runs, plan, expected_seeds, main_zeta)
    abl, n2 = build_ablation(runs, plan, expected_seeds)
    return main + abl, n1 + n2


def tidy_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per trial: labels, every config param (numbers where they parse) and final metrics."""
    out = prepare(runs)
    for col in [c for c in out if c.startswith("param.")]:
        parsed = pd.to_numeric(out[col], errors="coerce")
        if parsed.notna().sum() == out[col].notna().sum():
            out[col] = parsed
    return out.reset_index(drop=True)
