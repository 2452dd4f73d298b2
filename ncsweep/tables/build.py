"""Build the thesis tables and the ζ-ablation table from a DataFrame of runs (pure pandas)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ncsweep.tables import aggregate as A
from ncsweep.tables.methods import order_methods
from ncsweep.tables.render import Grid, build_grid
from ncsweep.tables.specs import ABLATION, TableOptions, TableSpec, order_datasets, table_specs

MAIN_ZETA = 0.2  # study.md: the main study's SSL variants all use ζ = 0.2
DEFAULTS = TableOptions()


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


def _caption(spec: TableSpec, stats: pd.DataFrame, show_std: bool) -> str:
    seeds = int(stats["expected"].max()) if len(stats) else 0
    what = ("Mean ± std" if show_std else "Mean") if spec.stat == "mean" else "Best"
    per = "row and metric" if len(spec.metrics) > 1 else "row"
    seeds = f"{seeds} seed" + ("s" if seeds != 1 else "")
    return f"{what} over {seeds} per cell; best per {per} in **bold** (as printed)."


def _metric_cells(spec, m, runs, expected, keys, row, col, prefix) -> pd.DataFrame:
    stats = A.cell_stats(runs, m.name, keys, expected)
    stats["_row"], stats["_base"] = row(stats), col(stats)
    stats["_col"] = stats["_base"].map(lambda c: f"{m.label} · {c}" if prefix else c)
    stats["_group"], stats["_fmt"], stats["_lower"] = m.name, m.fmt, m.lower_is_better
    stats["_shown"] = A.best_of(stats, spec.stat, m.lower_is_better)
    return stats.assign(metric=m.name)


def _table(spec, metrics, runs, plan, expected_seeds, keys, row, col, cols, rows, stem, show_std):
    expected = A.expected_cells(runs, keys, plan, expected_seeds)
    multi = len(metrics) > 1
    parts = [_metric_cells(spec, m, runs, expected, keys, row, col, multi) for m in metrics]
    stats = pd.concat(parts, ignore_index=True)
    base = cols(stats)
    grid = build_grid(
        stats,
        rows(stats),
        [f"{m.label} · {c}" if multi else c for m in metrics for c in base],
        spec.title,
        _caption(spec, stats, show_std and spec.stat == "mean"),
        with_std=show_std and spec.stat == "mean",
    )
    if multi:
        grid.heads, grid.groups = base * len(metrics), [(m.label, len(base)) for m in metrics]
    stats["value"], stats["bold"] = (
        stats["_shown"],
        [(str(r), str(c)) in grid.bold for r, c in zip(stats["_row"], stats["_col"], strict=False)],
    )
    stats["mark"] = [
        grid.marks.get((str(r), str(c)), "")
        for r, c in zip(stats["_row"], stats["_col"], strict=False)
    ]
    helpers = [c for c in stats if c.startswith("_")]
    stats = stats.drop(columns=helpers).assign(table=spec.number, stat=spec.stat)
    return BuiltTable(spec, grid, stats, stem)


def _logged(spec: TableSpec, runs: pd.DataFrame, notes: list[str]) -> list:
    """The metrics of ``spec`` that some run logged; notes for those left out or the table skipped."""
    if runs.empty:
        notes.append(f"Table {spec.number} ({spec.name}): no {spec.stage} runs; skipped.")
        return []
    metrics = [m for m in spec.metrics if A.metric_col(m.name) in runs]
    for m in spec.metrics:
        if m not in metrics:
            notes.append(f"Table {spec.number} ({m.name}): no run logged it; left out.")
    return metrics


def main_runs(runs, plan, stage, main_zeta=MAIN_ZETA):
    """The runs (and plan rows) of ``stage`` that the main tables compare, and a note when the
    study has several ζ (the SSL columns then use ``main_zeta``; the ablation shows the rest)."""
    r, p = runs[runs["stage"] == stage], _stage(plan, stage)
    if len(A.zetas(r)) <= 1:
        return r, p, None
    p = None if p is None else A.main_subset(p, main_zeta)
    return A.main_subset(r, main_zeta), p, f"SSL columns at ζ = {main_zeta:g}."


def _dataset_rows(stats: pd.DataFrame) -> list[str]:
    return order_datasets(stats["dataset"].astype(str))


def _ablation_rows(stats: pd.DataFrame) -> list[str]:
    pairs = stats[["dataset", "method"]].astype(str).drop_duplicates()
    ds, ms = order_datasets(pairs["dataset"]), order_methods(pairs["method"])
    pairs = pairs.assign(_d=pairs["dataset"].map(ds.index), _m=pairs["method"].map(ms.index))
    pairs = pairs.sort_values(["_d", "_m"])
    return (pairs["dataset"] + " · " + pairs["method"]).tolist()


def build_main(
    runs, plan=None, expected_seeds=None, main_zeta=MAIN_ZETA, options=DEFAULTS
) -> tuple[list[BuiltTable], list[str]]:
    """Tables 6.1-6.7: rows = datasets (the thesis' order), columns = methods, one column group
    per metric. With several ζ in the study, the SSL columns use ``main_zeta``."""
    out, notes = [], []
    for spec in table_specs(options.layout):
        r, p, note = main_runs(runs, plan, spec.stage, main_zeta)
        if note:
            notes.append(f"Table {spec.number} ({spec.name}): {note}")
        metrics = _logged(spec, r, notes)
        if not metrics:
            continue
        built = _table(
            spec, metrics, r, p, expected_seeds, ["dataset", "method"],
            row=lambda s: s["dataset"].astype(str),
            col=lambda s: s["method"],
            cols=lambda s: order_methods(s["method"]),
            rows=_dataset_rows, stem=spec.stem, show_std=options.show_std,
        )  # fmt: skip
        out.append(built)
    return out, notes


def build_ablation(
    runs, plan=None, expected_seeds=None, options=DEFAULTS
) -> tuple[list[BuiltTable], list[str]]:
    """ζ ablation: rows = dataset · method (SSL runs only), columns = ζ; mean over seeds."""
    r = runs[(runs["stage"] == "stage1") & (runs["ssl"].fillna("none") != "none")]
    if len(A.zetas(r)) < 2:
        return [], ["ζ-ablation table: fewer than two ζ values among the SSL runs; skipped."]
    p = _stage(plan, "stage1")
    p = None if p is None else p[p["ssl"].fillna("none") != "none"]
    out, notes = [], []
    for spec in ABLATION:
        metrics = _logged(spec, r, notes)
        if not metrics:
            continue
        built = _table(
            spec, metrics, r, p, expected_seeds, ["dataset", "method", "zeta"],
            row=lambda s: s["dataset"].astype(str) + " · " + s["method"],
            col=lambda s: s["zeta"].map(lambda z: f"ζ = {z:g}"),
            cols=lambda s: [f"ζ = {z:g}" for z in sorted(s["zeta"].unique())],
            rows=_ablation_rows, stem=f"table_zeta_{spec.name}_mean",
            show_std=options.show_std,
        )  # fmt: skip
        built.grid.row_header = "Dataset · method"
        out.append(built)
    return out, notes


class NoRunsError(ValueError):
    """The store holds no finished trial run of the study."""


def build_all(
    runs, plan=None, expected_seeds=None, main_zeta=MAIN_ZETA, options=DEFAULTS
) -> tuple[list[BuiltTable], list[str]]:
    """Every table the runs support, and notes on the ones skipped; :class:`NoRunsError` when
    no trial run finished (empty tables exiting 0 read as success, issue 14)."""
    done = 0 if runs is None or "status" not in runs else int((runs["status"] == A.FINISHED).sum())
    if not done:
        total = 0 if runs is None else len(runs)
        raise NoRunsError(f"none of the {total} trial run(s) finished: no tables to build")
    runs = prepare(runs)
    plan = prepare(plan) if plan is not None else None
    main, n1 = build_main(runs, plan, expected_seeds, main_zeta, options)
    abl, n2 = build_ablation(runs, plan, expected_seeds, options)
    return main + abl, n1 + n2


def tidy_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per trial: labels, every config param (numbers where they parse) and final metrics."""
    out = prepare(runs)
    for col in [c for c in out if c.startswith("param.")]:
        parsed = pd.to_numeric(out[col], errors="coerce")
        if parsed.notna().sum() == out[col].notna().sum():
            out[col] = parsed
    return out.reset_index(drop=True)
