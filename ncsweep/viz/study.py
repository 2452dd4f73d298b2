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
        if log:
            low = np.minimum(std, 0.9 * mean)
            ax.errorbar(pos, mean, yerr=[low, std], fmt="o", ms=5, color=color(m), label=m,
                        capsize=2, lw=0.8)  # fmt: skip
        else:
            ax.bar(pos, mean, width, yerr=std, color=color(m), label=m, capsize=2,
                   error_kw={"lw": 0.8})  # fmt: skip
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
    fig.legend(fontsize=7, ncol=min(len(methods), 7), loc="outside lower center")
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
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, ncol=min(len(methods), 7),
               loc="outside lower center")  # fmt: skip
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
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=min(len(labels), 7), loc="outside lower center")


def knn_vs_generation(
    pairs: pd.DataFrame, gen_metric: str, label: str, log: bool = False
) -> Figure:
    """Scatter of stage-1 KNN accuracy (x) vs a stage-2 metric (y), one point per stage-2 run,
    with the least-squares line and Pearson r. ``log`` as in :func:`method_bars`."""
    df = pairs.dropna(subset=["knn_acc", gen_metric])
    log = log and wants_log(df[gen_metric])
    fig = new_figure(5.5, 4.0)
    ax = fig.subplots()
    _scatter_methods(ax, df, "knn_acc", gen_metric)
    if len(df) >= 2 and df["knn_acc"].nunique() > 1 and df[gen_metric].nunique() > 1:
        # on a log axis fit log10(y), so the drawn line is straight where it is read
        y = np.log10(df[gen_metric]) if log else df[gen_metric]
        slope, intercept = np.polyfit(df["knn_acc"], y, 1)
        xs = np.linspace(df["knn_acc"].min(), df["knn_acc"].max(), 50)
        r = np.corrcoef(df["knn_acc"], y)[0, 1]
        fit = 10 ** (slope * xs + intercept) if log else slope * xs + intercept
        what = f"log {label}" if log else label
        ax.plot(xs, fit, color="black", lw=1.2, label=f"least squares on {what} (r = {r:.2f})")
    if log:
        ax.set_yscale("log")
    plain_numbers(ax)
    ax.set_xlabel("KNN accuracy (stage 1)")
    ax.set_ylabel(label + (" (log scale)" if log else ""))
    ax.set_title(f"KNN accuracy vs {label}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.grid(alpha=0.3)
    return fig


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
