"""The study's figures (study.md) from DataFrames of runs: one row per run with ``dataset``,
``method``, ``seed``, ``zeta`` and ``metric.<name>`` columns (see ncsweep.tables.build.prepare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ncsweep.tables.methods import order_methods
from ncsweep.viz.style import color, new_figure


def method_bars(runs: pd.DataFrame, metric: str, label: str, log: bool = False) -> Figure:
    """Grouped bars: one group per dataset, one bar per method (mean over seeds, ± std)."""
    col = f"metric.{metric}"
    stats = runs.groupby(["dataset", "method"])[col].agg(["mean", "std"]).reset_index()
    datasets, methods = sorted(stats["dataset"].unique()), order_methods(stats["method"])
    width = 0.8 / len(methods)
    fig = new_figure(max(6.0, 0.14 * len(datasets) * len(methods) + 1.5), 4.2)
    ax = fig.subplots()
    x = np.arange(len(datasets))
    for j, m in enumerate(methods):
        s = stats[stats["method"] == m].set_index("dataset").reindex(datasets)
        std = s["std"].fillna(0).to_numpy()
        low = np.minimum(std, 0.9 * s["mean"].to_numpy()) if log else std  # a log axis has no 0
        ax.bar(x + (j - (len(methods) - 1) / 2) * width, s["mean"], width, yerr=[low, std],
               color=color(m), label=m, capsize=2, error_kw={"lw": 0.8})  # fmt: skip
    ax.set_xticks(
        x,
        datasets,
        rotation=30 if len(datasets) > 4 else 0,
        ha="right" if len(datasets) > 4 else "center",
    )
    ax.set_ylabel(label + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
    fig.suptitle(f"Mean {label} per method (± std over seeds)")
    fig.legend(fontsize=7, ncol=min(len(methods), 7), loc="outside lower center")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _scatter_methods(ax, df: pd.DataFrame, xcol: str, ycol: str) -> None:
    for m in order_methods(df["method"]):
        d = df[df["method"] == m]
        ax.scatter(d[xcol], d[ycol], s=18, color=color(m), label=m, alpha=0.85, edgecolor="none")


def knn_vs_ssl_loss(runs: pd.DataFrame, loss_col: str = "metric.train/ssl") -> Figure:
    """KNN accuracy against the final SSL loss, one point per run, one panel per dataset."""
    df = runs.dropna(subset=[loss_col, "metric.knn_acc"])
    datasets = sorted(df["dataset"].unique())
    cols = min(3, len(datasets))
    rows = -(-len(datasets) // cols)
    fig = new_figure(3.6 * cols + 1.5, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, ds in zip(axes, datasets, strict=False):
        _scatter_methods(ax, df[df["dataset"] == ds], loss_col, "metric.knn_acc")
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("final SSL loss", fontsize=8)
        ax.set_ylabel("KNN accuracy", fontsize=8)
    for ax in axes[len(datasets) :]:
        ax.set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="outside right upper")
    fig.suptitle("KNN accuracy vs SSL loss per run")
    return fig


def knn_vs_generation(
    pairs: pd.DataFrame, gen_metric: str, label: str, log: bool = False
) -> Figure:
    """Scatter of stage-1 KNN accuracy (x) vs a stage-2 metric (y), one point per stage-2 run,
    with the least-squares line and Pearson r."""
    df = pairs.dropna(subset=["knn_acc", gen_metric])
    fig = new_figure(5.5, 4.0)
    ax = fig.subplots()
    _scatter_methods(ax, df, "knn_acc", gen_metric)
    if len(df) >= 2 and df["knn_acc"].nunique() > 1:
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
    ax.set_xlabel("KNN accuracy (stage 1)")
    ax.set_ylabel(label)
    ax.set_title(f"KNN accuracy vs {label}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.grid(alpha=0.3)
    return fig


def validation_curves(history: pd.DataFrame, key: str, label: str) -> Figure:
    """Mean over seeds of a per-epoch metric, one panel per dataset, one line per method.
    ``history``: columns dataset, method, seed, step, value."""
    h = history.groupby(["dataset", "method", "step"])["value"].agg(["mean", "std"]).reset_index()
    datasets = sorted(h["dataset"].unique())
    cols = min(3, len(datasets))
    rows = -(-len(datasets) // cols)
    fig = new_figure(3.8 * cols + 1.5, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, ds in zip(axes, datasets, strict=False):
        d = h[h["dataset"] == ds]
        for m in order_methods(d["method"]):
            c = d[d["method"] == m].sort_values("step")
            ax.plot(c["step"], c["mean"], color=color(m), lw=1.2, label=m)
            ax.fill_between(c["step"], c["mean"] - c["std"].fillna(0), c["mean"] + c["std"].fillna(0),
                            color=color(m), alpha=0.15, lw=0)  # fmt: skip
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel(label, fontsize=8)
    for ax in axes[len(datasets) :]:
        ax.set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="outside right upper")
    fig.suptitle(f"{label} during training (mean ± std over seeds)")
    return fig


def zeta_curves(runs: pd.DataFrame, metrics: list[tuple[str, str]]) -> Figure:
    """ζ ablation: rows = datasets, columns = metrics; one line per method (mean ± std)."""
    datasets = sorted(runs["dataset"].unique())
    fig = new_figure(3.6 * len(metrics) + 1.6, 2.6 * len(datasets))
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
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7, loc="outside right upper")
    fig.suptitle("ζ ablation (mean ± std over seeds)")
    return fig
