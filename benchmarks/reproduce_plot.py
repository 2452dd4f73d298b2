"""The figure of benchmarks/reproduce.py: final probe accuracy per method and seed (top row) and,
where runs probed during training, accuracy vs epoch averaged over seeds (bottom row)."""

from __future__ import annotations

from pathlib import Path

COLORS = {"none": "tab:gray", "barlowtwins": "tab:blue", "vibcreg": "tab:orange"}
LABELS = {"none": "naive VQ-VAE", "barlowtwins": "Barlow Twins", "vibcreg": "VIbCReg"}


def plot(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    checks = list(dict.fromkeys(r["check"] for r in runs))
    curves = any(len(r["probes"]) > 1 for r in runs)
    rows = 2 if curves else 1
    fig, axes = plt.subplots(
        rows, len(checks), figsize=(5.5 * len(checks), 4 * rows), squeeze=False
    )
    for j, check in enumerate(checks):
        mine = [r for r in runs if r["check"] == check]
        _final(axes[0][j], mine, check)
        if curves:
            _curves(axes[1][j], mine, check)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _final(ax, runs: list[dict], check: str) -> None:
    methods = list(dict.fromkeys(r["method"] for r in runs))
    for i, m in enumerate(methods):
        for off, probe, marker in ((-0.2, "knn_acc", "o"), (0.2, "svm_acc", "s")):
            rs = [r for r in runs if r["method"] == m and r[probe] is not None]
            x = [i + off + 0.025 * (r["seed"] % 7 - 3) for r in rs]  # seeds side by side
            y = [r[probe] for r in rs]
            ax.scatter(x, y, color=COLORS.get(m), marker=marker, s=30, alpha=0.8)
            if y:
                ax.hlines(sum(y) / len(y), i + off - 0.12, i + off + 0.12, color="k", lw=1.5)
    ax.set_xticks(range(len(methods)), [LABELS.get(m, m) for m in methods])
    for marker, name in (("o", "KNN"), ("s", "SVM")):
        ax.scatter([], [], color="k", marker=marker, label=f"{name} (one per seed)")
    ax.legend(fontsize=7, loc="best")
    ax.set_xlim(-0.6, len(methods) - 0.4)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{check}: final probes (bar: mean of seeds)", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def _curves(ax, runs: list[dict], check: str) -> None:
    for m in dict.fromkeys(r["method"] for r in runs):
        for probe, style in (("knn_acc", "-"), ("svm_acc", "--")):
            by_epoch: dict[int, list[float]] = {}
            for r in (r for r in runs if r["method"] == m):
                for p in r["probes"]:
                    by_epoch.setdefault(p["epoch"], []).append(p[probe])
            ep = sorted(by_epoch)
            mean = [sum(by_epoch[e]) / len(by_epoch[e]) for e in ep]
            label = f"{LABELS.get(m, m)} {probe[:3].upper()}"
            ax.plot(ep, mean, style, color=COLORS.get(m), label=label, marker=".")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (mean over seeds)")
    ax.set_title(f"{check}: probes during training", fontsize=8)
    ax.legend(fontsize=7, handlelength=3)
    ax.grid(alpha=0.3)
