"""Per-trial figures made outside ``forward``: reconstructions, latent t-SNE, samples vs real.

Inputs are numpy arrays or CPU tensors (anything ``np.asarray`` takes)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ncsweep.viz.style import CLASS_CMAP, new_figure


def reconstructions(x, x_hat, n: int = 6) -> Figure:
    """The first ``n`` series (B, L) with their reconstructions overlaid, one panel each."""
    x, x_hat = np.asarray(x, dtype=float), np.asarray(x_hat, dtype=float)  # (B, L)
    n = min(n, len(x))
    cols = min(3, n)
    rows = -(-n // cols)
    fig = new_figure(4.0 * cols, 2.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_visible(False)
            continue
        ax.plot(x[i], color="black", lw=1.2, label="original")
        ax.plot(x_hat[i], color="#d62728", lw=1.0, ls="--", label="reconstruction")
        ax.set_title(f"series {i}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("Reconstructions vs originals")
    return fig


def _tsne(features: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(max(2.0, min(30.0, (len(features) - 1) / 3)))
    # exact gradients for small sets (Barnes-Hut's OpenMP loop took ~20 s for 40 points on a
    # loaded 2-core machine); 500 iterations settle a picture of a few hundred points
    method = "exact" if len(features) < 200 else "barnes_hut"
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                method=method, max_iter=500)  # fmt: skip
    return tsne.fit_transform(features)


def latent_tsne(
    features, y, seed: int = 0, title: str = "t-SNE of latent representations"
) -> Figure:
    """2-D t-SNE of features (N, D), points coloured by class ``y`` (N,)."""
    features, y = np.asarray(features, dtype=float), np.asarray(y)
    emb = _tsne(features, seed)  # (N, 2)
    fig = new_figure(5.0, 4.5)
    ax = fig.subplots()
    classes = np.unique(y)
    cmap = matplotlib.colormaps[CLASS_CMAP]
    for i, c in enumerate(classes):
        pts = emb[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.8, color=cmap(i % 10), label=f"class {c}")
    ax.legend(fontsize=7, markerscale=1.5, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return fig


def samples_vs_real(
    gen, real, labels, real_labels=None, n_per_class: int = 5, ylabel: str = "value (normalised)"
) -> Figure:
    """One row per class: generated series (left) next to real ones (right), on one y scale.

    ``gen`` (N, L) with class ``labels`` (N,); ``real`` (M, L) with ``real_labels`` (M,)
    (defaults to ``labels`` when both sets are labelled alike)."""
    gen, real = np.asarray(gen, dtype=float), np.asarray(real, dtype=float)
    labels = np.asarray(labels)
    real_labels = labels if real_labels is None else np.asarray(real_labels)
    classes = np.unique(np.concatenate([labels, real_labels]))
    fig = new_figure(9.0, 1.9 * len(classes) + 0.6)
    axes = fig.subplots(len(classes), 2, squeeze=False, sharex=True)
    for row, c in enumerate(classes):
        for col, (data, lab, name) in enumerate(
            [(gen, labels, "generated"), (real, real_labels, "real")]
        ):
            ax = axes[row, col]
            for series in data[lab == c][:n_per_class]:
                ax.plot(series, lw=0.9, alpha=0.8)
            ax.set_title(f"class {c}: {name}", fontsize=9)
            ax.tick_params(labelsize=7)
        axes[row, 0].set_ylabel(ylabel, fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time step", fontsize=8)
    for row in range(len(classes)):  # same y range for generated and real of a class
        lo = min(a.get_ylim()[0] for a in axes[row])
        hi = max(a.get_ylim()[1] for a in axes[row])
        for a in axes[row]:
            a.set_ylim(lo, hi)
    fig.suptitle("Generated samples vs real samples per class")
    return fig
