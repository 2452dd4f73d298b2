"""The study's figures from what MLflow stored; a figure whose metrics are absent is skipped
with a note (e.g. no stage 2 in a ζ ablation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ncsweep.tables import aggregate as A
from ncsweep.tables.build import MAIN_ZETA, prepare

HISTORY_KEYS = [("val/recon", "validation reconstruction error")]


def _finished(runs: pd.DataFrame, stage: str) -> pd.DataFrame:
    return runs[(runs["stage"] == stage) & (runs["status"] == A.FINISHED)]


def _has(df: pd.DataFrame, *metrics: str) -> bool:
    return not df.empty and all(
        A.metric_col(m) in df and df[A.metric_col(m)].notna().any() for m in metrics
    )


def _main(df: pd.DataFrame) -> pd.DataFrame:
    return A.main_subset(df, MAIN_ZETA) if len(A.zetas(df)) > 1 else df


def stage_pairs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished stage-2 runs with their stage-1 run's KNN accuracy (by ``stage1_run_id``, else by
    dataset, method, ζ and seed)."""
    s1, s2 = _finished(runs, "stage1"), _finished(runs, "stage2")
    if s1.empty or s2.empty or "metric.knn_acc" not in s1:
        return pd.DataFrame()
    left = s2.rename(columns=lambda c: c.removeprefix("metric.")).drop(
        columns="knn_acc", errors="ignore"
    )
    right = s1[["run_id", "metric.knn_acc"]].rename(
        columns={"run_id": "stage1_run_id", "metric.knn_acc": "knn_acc"}
    )
    if left["stage1_run_id"].notna().all():
        return left.merge(right, on="stage1_run_id", how="inner")
    keys = ["dataset", "method", "seed"]
    right = s1[[*keys, "metric.knn_acc"]].rename(columns={"metric.knn_acc": "knn_acc"})
    return left.merge(right, on=keys, how="inner")


def make_figures(
    runs: pd.DataFrame,
    out_dir: Path,
    history: Callable[[list[str], list[str]], pd.DataFrame] | None = None,
) -> tuple[list[Path], list[str]]:
    """Write every figure the runs support (PNG + PDF); ``history(run_ids, keys)`` returns
    per-step values (columns run_id, key, step, value). Returns (paths, notes)."""
    from ncsweep.viz import study as V
    from ncsweep.viz.style import save

    runs = prepare(runs)
    s1, s2 = _main(_finished(runs, "stage1")), _main(_finished(runs, "stage2"))
    paths, notes = [], []

    def emit(name: str, ok: bool, why: str, make: Callable) -> None:
        if not ok:
            notes.append(f"figure {name}: skipped ({why}).")
            return
        paths.extend(save(make(), out_dir, name))

    emit(
        "bars_val_recon",
        _has(s1, "val_recon"),
        "no val_recon",
        lambda: V.method_bars(s1, "val_recon", "validation reconstruction error"),
    )
    emit(
        "bars_knn_acc",
        _has(s1, "knn_acc"),
        "no knn_acc",
        lambda: V.method_bars(s1, "knn_acc", "KNN accuracy"),
    )
    emit(
        "bars_svm_acc",
        _has(s1, "svm_acc"),
        "no svm_acc",
        lambda: V.method_bars(s1, "svm_acc", "SVM accuracy"),
    )
    emit(
        "bars_fid",
        _has(s2, "fid"),
        "no stage-2 runs with fid",
        lambda: V.method_bars(s2, "fid", "FID", log=True),
    )
    emit(
        "bars_is",
        _has(s2, "is_mean"),
        "no stage-2 runs with is_mean",
        lambda: V.method_bars(s2, "is_mean", "IS"),
    )
    ssl = s1[s1["ssl"].fillna("none") != "none"]
    emit(
        "knn_vs_ssl_loss",
        _has(ssl, "knn_acc", "train/ssl"),
        "no SSL runs with train/ssl and knn_acc",
        lambda: V.knn_vs_ssl_loss(ssl),
    )
    pairs = stage_pairs(runs)
    ok = not pairs.empty
    emit(
        "knn_vs_is",
        ok and "is_mean" in pairs,
        "no stage-1/stage-2 pairs",
        lambda: V.knn_vs_generation(pairs, "is_mean", "IS"),
    )
    emit(
        "knn_vs_fid",
        ok and "fid" in pairs,
        "no stage-1/stage-2 pairs",
        lambda: V.knn_vs_generation(pairs, "fid", "FID", log=True),
    )
    _curves(s1, history, emit)
    abl = _finished(runs, "stage1")
    abl = abl[abl["ssl"].fillna("none") != "none"]
    metrics = [
        (m, lab)
        for m, lab in [
            ("val_recon", "val. recon"),
            ("knn_acc", "KNN acc."),
            ("svm_acc", "SVM acc."),
        ]
        if _has(abl, m)
    ]
    emit(
        "zeta_ablation",
        len(A.zetas(abl)) > 1 and bool(metrics),
        "fewer than two ζ values",
        lambda: V.zeta_curves(abl, metrics),
    )
    return paths, notes  # fmt: skip


def _curves(s1: pd.DataFrame, history, emit) -> None:
    from ncsweep.viz import study as V

    for key, label in HISTORY_KEYS:
        name = "curves_" + key.replace("/", "_")
        if history is None or s1.empty:
            emit(name, False, "no history reader or no finished stage-1 runs", None)
            continue
        h = history(list(s1["run_id"]), [key])
        h = h.merge(s1[["run_id", "dataset", "method", "seed"]], on="run_id")
        emit(
            name,
            not h.empty,
            f"no {key} history",
            lambda h=h, key=key, label=label: V.validation_curves(h, key, label),
        )
