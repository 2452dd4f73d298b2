"""The study's 2-D views of one dataset, one panel per method: PCA of stage-1 latents (thesis
figure 6.16), PCA of generated against real series (6.17), t-SNE of generated against test series
(6.21). Inputs are numpy arrays; a PCA is fitted per panel (on the real series where there are)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ncsweep.methods import order_methods
from ncsweep.viz.axes import grid_shape, panel_grid
from ncsweep.viz.samples import _tsne
from ncsweep.viz.style import CLASS_CMAP, color, new_figure

REAL_COLOR = "black"  # hollow rings on top: visible over any method colour, the grey baseline too


def pca_fit(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (D,), components (k, D), explained variance ratio (k,)) by SVD."""
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    ratio = var[:k] / var.sum() if var.sum() > 0 else np.zeros(min(k, len(var)))
    return mean, vt[:k], ratio


def _panels(n: int, cols: int = 4) -> tuple[Figure, list]:
    rows, cols = grid_shape(n, cols)
    fig = new_figure(3.3 * cols + 0.4, 3.1 * rows + 0.9)
    return fig, panel_grid(fig, n, cols)


def _bare(ax, title: str, xlabel: str = "", ylabel: str = "") -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)


def pca_latents(per_method: Mapping[str, tuple], dataset: str) -> Figure:
    """``per_method``: method → (features (N, D), labels (N,)); points coloured by class."""
    methods = order_methods(per_method)
    fig, axes = _panels(len(methods))
    cmap = matplotlib.colormaps[CLASS_CMAP]
    classes = np.unique(np.concatenate([np.asarray(per_method[m][1]) for m in methods]))
    for ax, m in zip(axes, methods, strict=True):
        feats, y = np.asarray(per_method[m][0], dtype=float), np.asarray(per_method[m][1])
        mean, comp, ratio = pca_fit(feats)
        z = (feats - mean) @ comp.T  # (N, 2)
        for i, c in enumerate(classes):
            pts = z[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.7, color=cmap(i % 10), label=f"class {c}")
        _bare(ax, m, f"PC1 ({ratio[0]:.0%})", f"PC2 ({ratio[1]:.0%})" if len(ratio) > 1 else "")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=min(len(labels), 10), markerscale=2,
               loc="outside lower center")  # fmt: skip
    fig.suptitle(f"{dataset}: PCA of stage-1 latents (test split), per method")
    return fig


def _real_vs_generated(ax, real2d: np.ndarray, gen2d: np.ndarray, method: str) -> None:
    ax.scatter(gen2d[:, 0], gen2d[:, 1], s=7, alpha=0.6, color=color(method), label="generated")
    ax.scatter(real2d[:, 0], real2d[:, 1], s=9, facecolors="none", edgecolors=REAL_COLOR,
               linewidths=0.4, alpha=0.6, label="test (real)")  # fmt: skip


def pca_samples(per_method: Mapping[str, tuple], dataset: str) -> Figure:
    """``per_method``: method → (real (N, L), generated (M, L)); PCA fitted on the real series,
    so every panel of a dataset shares the real series' coordinates."""
    methods = order_methods(per_method)
    fig, axes = _panels(len(methods))
    for ax, m in zip(axes, methods, strict=True):
        real, gen = (np.asarray(a, dtype=float) for a in per_method[m])
        mean, comp, ratio = pca_fit(real)
        _real_vs_generated(ax, (real - mean) @ comp.T, (gen - mean) @ comp.T, m)
        _bare(ax, m, f"PC1 of test ({ratio[0]:.0%})", f"PC2 of test ({ratio[1]:.0%})")
        ax.legend(fontsize=6, loc="best", markerscale=2)
    fig.suptitle(f"{dataset}: PCA of generated and test series, per method")
    return fig


def tsne_samples(per_method: Mapping[str, tuple], dataset: str, seed: int = 0) -> Figure:
    """``per_method``: method → (real (N, L), generated (M, L)); one t-SNE of both per panel."""
    methods = order_methods(per_method)
    fig, axes = _panels(len(methods))
    for ax, m in zip(axes, methods, strict=True):
        real, gen = (np.asarray(a, dtype=float) for a in per_method[m])
        emb = _tsne(np.concatenate([real, gen]), seed)  # (N + M, 2)
        _real_vs_generated(ax, emb[: len(real)], emb[len(real) :], m)
        _bare(ax, m)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=6, loc="best", markerscale=2)
    fig.suptitle(f"{dataset}: t-SNE of generated against test series, per method")
    return fig
