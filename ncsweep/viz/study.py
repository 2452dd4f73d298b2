"""The study's figures (study.md) from DataFrames of runs: one row per run with ``dataset``,
``method``, ``seed``, ``zeta`` and ``metric.<name>`` columns (see ncsweep.tables.build.prepare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ncsweep.methods import order_methods
from ncsweep.viz.axes import grid_shape, order_datasets, panel_grid, plain_numbers, wants_log
from ncsweep.viz.style import color, new_figure


def _method_stats(runs: pd.DataFrame, col: str) -> pd.DataFrame:
    return runs.groupby(["dataset", "method"])[col].agg(["mean", "std"]).reset_index()


def _dataset_ticks(ax, datasets: list[str]) -> None:
    many = len(datasets) > 4
    ax.set_xticks(np.arange(len(datasets)), datasets, rotation=30 if many else 0,
                  ha="right" if many else "center")  # fmt: skip


def _grouped(ax, stats: pd.DataFrame, datasets, methods, log: bool) -> None:
    """Bars from zero on a linear axis; on a log axis, points (a bar's length from an arbitrary
    log bottom means nothing). Error bars: ± std over seeds, kept above zero on a log axis."""
    width = 0.8 / len(methods)
    x = np.arange(len(datasets))
    for j, m in enumerate(methods):
        s = stats[stats["method"] == m].set_index("dataset").reindex(datasets)
        mean, std = s["mean"].to_numpy(), s["std"].fillna(0).to_numpy()
        pos = x + (j - (len(methods) - 1) / 2) * width
        one_seed = s["std"].isna().all()  # no spread to draw: no error-bar caps either
        if log:
            err = None if one_seed else [np.minimum(std, 0.9 * mean), std]
            ax.errorbar(pos, mean, yerr=err, fmt="o", ms=5, color=color(m), label=m,
                        capsize=2, lw=0.8)  # fmt: skip
        else:
            ax.bar(pos, mean, width, yerr=None if one_seed else std, color=color(m), label=m,
                   capsize=2, error_kw={"lw": 0.8})  # fmt: skip
    if log:
        ax.set_yscale("log")
        for edge in x[:-1] + 0.5:  # group separators: points have no bar to show their group
            ax.axvline(edge, color="0.85", lw=0.6, zorder=0)
    else:
        ax.set_ylim(bottom=0)
        plain_numbers(ax, "y")
    _dataset_ticks(ax, datasets)
    ax.grid(axis="y", alpha=0.3)


def method_bars(runs: pd.DataFrame, metric: str, label: str, log: bool = False) -> Figure:
    """One group per dataset, one bar per method (mean over seeds, ± std). ``log`` asks for a log
    axis; it is used only where the means span ``LOG_MIN_SPAN`` or more (else bars from 0)."""
    stats = _method_stats(runs, f"metric.{metric}")
    datasets, methods = order_datasets(stats["dataset"].unique()), order_methods(stats["method"])
    log = log and wants_log(stats["mean"])
    fig = new_figure(max(6.0, 0.14 * len(datasets) * len(methods) + 1.5), 4.2)
    ax = fig.subplots()
    _grouped(ax, stats, datasets, methods, log)
    ax.set_ylabel(label + (" (log scale)" if log else ""))
    fig.suptitle(f"Mean {label} per method (± std over seeds)")
    _legend_below(fig, ax)
    return fig


def stage1_cost(runs: pd.DataFrame) -> Figure:
    """Stage-1 training time and model size per dataset and method (mean over seeds)."""
    datasets = order_datasets(runs["dataset"].unique())
    methods = order_methods(runs["method"])
    fig = new_figure(max(6.0, 0.14 * len(datasets) * len(methods) + 1.5), 7.0)
    axes = fig.subplots(2, 1, sharex=True)
    runs = runs.assign(**{"metric.n_params_m": runs["metric.n_params"] / 1e6})
    for ax, (col, label) in zip(axes, [("metric.seconds", "training time (s)"),
                                       ("metric.n_params_m", "parameters (millions)")], strict=True):  # fmt: skip
        stats = _method_stats(runs, col)
        log = wants_log(stats["mean"])
        _grouped(ax, stats, datasets, methods, log)
        ax.set_ylabel(label + (" (log scale)" if log else ""), fontsize=8)
    fig.suptitle("Stage 1: training time and model size (mean over seeds)")
    _legend_below(fig, axes[0])
    return fig


def _scatter_methods(ax, df: pd.DataFrame, xcol: str, ycol: str) -> None:
    for m in order_methods(df["method"]):
        d = df[df["method"] == m]
        ax.scatter(d[xcol], d[ycol], s=18, color=color(m), label=m, alpha=0.85, edgecolor="none")


def knn_vs_ssl_loss(runs: pd.DataFrame, loss_col: str = "metric.train/ssl") -> Figure:
    """KNN accuracy against the final SSL loss, one point per run, one panel per dataset."""
    df = runs.dropna(subset=[loss_col, "metric.knn_acc"])
    datasets = order_datasets(df["dataset"].unique())
    rows, cols = grid_shape(len(datasets))
    fig = new_figure(3.6 * cols + 1.5, 3.0 * rows + 0.6)
    axes = panel_grid(fig, len(datasets))
    for ax, ds in zip(axes, datasets, strict=True):
        _scatter_methods(ax, df[df["dataset"] == ds], loss_col, "metric.knn_acc")
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("final SSL loss", fontsize=8)
        ax.set_ylabel("KNN accuracy", fontsize=8)
        plain_numbers(ax)
    _legend_below(fig, axes[0])
    fig.suptitle("KNN accuracy vs SSL loss per run")
    return fig


def _legend_below(fig: Figure, ax) -> None:
    """Under the panels, so neither a panel nor the title is covered (issue 14 §6)."""
    seen: dict = {}  # every panel's entries, once each: the first panel may lack a method
    for a in [ax, *fig.axes]:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    labels = order_methods(seen)  # the study's method order; other entries (a fit) after
    width = fig.get_figwidth() / max(len(lab) for lab in labels) * 10  # ~entries per row
    fig.legend([seen[lab] for lab in labels], labels, fontsize=7, loc="outside lower center",
               ncol=max(1, min(len(labels), 8, int(width))))  # fmt: skip


def knn_vs_generation(
    pairs: pd.DataFrame, gen_metric: str, label: str, log: bool = False
) -> Figure:
    """Stage-1 KNN accuracy (x) vs a stage-2 metric (y), one point per stage-2 run, one panel per
    dataset with its own least-squares line and Pearson r: pooled over datasets, the datasets'
    different FID levels would make the line (issue 14 §6). ``log`` as in :func:`method_bars`."""
    df = pairs.dropna(subset=["knn_acc", gen_metric])
    df = df if "dataset" in df else df.assign(dataset="all runs")
    datasets = order_datasets(df["dataset"].unique())
    rows, cols = grid_shape(len(datasets))
    fig = new_figure(3.6 * cols + 0.6, 3.0 * rows + 0.8)
    axes = panel_grid(fig, len(datasets))
    for ax, ds in zip(axes, datasets, strict=True):
        d = df[df["dataset"] == ds]
        panel_log = log and wants_log(d[gen_metric])
        _scatter_methods(ax, d, "knn_acc", gen_metric)
        r = _least_squares(ax, d["knn_acc"], d[gen_metric], panel_log, label)
        if panel_log:
            ax.set_yscale("log")
        plain_numbers(ax)
        ax.set_title(ds + ("" if r is None else f" (r = {r:.2f})"), fontsize=9)
        ax.set_xlabel("KNN accuracy (stage 1)", fontsize=8)
        ax.set_ylabel(label + (" (log scale)" if panel_log else ""), fontsize=8)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes[0])
    fig.suptitle(f"KNN accuracy vs {label}, one point per run")
    return fig


def _least_squares(ax, x: pd.Series, y: pd.Series, log: bool, label: str) -> float | None:
    """Draw the fitted line (of log10 y on a log axis, so it is straight where it is read)."""
    if len(x) < 2 or x.nunique() < 2 or y.nunique() < 2:
        return None
    t = np.log10(y) if log else y
    slope, intercept = np.polyfit(x, t, 1)
    xs = np.linspace(x.min(), x.max(), 50)
    fit = 10 ** (slope * xs + intercept) if log else slope * xs + intercept
    what = f"log {label}" if log else label
    ax.plot(xs, fit, color="black", lw=1.0, label=f"least squares on {what}")
    return float(np.corrcoef(x, t)[0, 1])


def validation_curves(history: pd.DataFrame, key: str, label: str, title: str | None = None) -> Figure:
    """Mean over seeds of a per-epoch metric, one panel per dataset, one line per method.
    ``history``: columns dataset, method, seed, step, value."""
    h = history.groupby(["dataset", "method", "step"])["value"].agg(["mean", "std"]).reset_index()
    datasets = order_datasets(h["dataset"].unique())
    rows, cols = grid_shape(len(datasets))
    fig = new_figure(3.8 * cols + 0.6, 2.8 * rows + 0.8)
    axes = panel_grid(fig, len(datasets))
    for ax, ds in zip(axes, datasets, strict=True):
        d = h[h["dataset"] == ds]
        for m in order_methods(d["method"]):
            c = d[d["method"] == m].sort_values("step")
            ax.plot(c["step"], c["mean"], color=color(m), lw=1.2, label=m)
            ax.fill_between(c["step"], c["mean"] - c["std"].fillna(0), c["mean"] + c["std"].fillna(0),
                            color=color(m), alpha=0.15, lw=0)  # fmt: skip
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label, fontsize=8)
        plain_numbers(ax, "y")
    _legend_below(fig, axes[0])
    fig.suptitle(title or f"{label} during training (mean ± std over seeds)")
    return fig


def zeta_curves(runs: pd.DataFrame, metrics: list[tuple[str, str]]) -> Figure:
    """ζ ablation: rows = datasets, columns = metrics; one line per method (mean ± std)."""
    datasets = order_datasets(runs["dataset"].unique())
    fig = new_figure(3.6 * len(metrics) + 0.6, 2.6 * len(datasets) + 0.8)
    axes = fig.subplots(len(datasets), len(metrics), squeeze=False)
    for i, ds in enumerate(datasets):
        d = runs[runs["dataset"] == ds]
        for j, (metric, label) in enumerate(metrics):
            ax = axes[i, j]
            s = d.groupby(["method", "zeta"])[f"metric.{metric}"].agg(["mean", "std"]).reset_index()
            for m in order_methods(s["method"]):
                c = s[s["method"] == m].sort_values("zeta")
                ax.errorbar(c["zeta"], c["mean"], yerr=c["std"].fillna(0), color=color(m), marker="o",
                            ms=3, lw=1.2, capsize=2, label=m)  # fmt: skip
            ax.set_title(f"{ds}: {label}", fontsize=9)
            ax.set_xticks(sorted(s["zeta"].unique()))
            ax.set_xlabel("ζ", fontsize=8)
            plain_numbers(ax, "y")
    _legend_below(fig, axes[0, 0])
    fig.suptitle("ζ ablation (mean ± std over seeds)")
    return fig
