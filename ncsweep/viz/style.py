"""Shared look of every figure: method colours, Figure creation without pyplot, saving."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ncsweep.tables.methods import METHOD_ORDER

# Baseline grey; Barlow Twins blues; VIbCReg oranges (one shade per augmentation).
METHOD_COLORS = dict(
    zip(
        METHOD_ORDER,
        ["#7f7f7f", "#08519c", "#3182bd", "#9ecae1", "#a63603", "#e6550d", "#fdae6b"],
        strict=True,
    )
)
CLASS_CMAP = "tab10"


def color(method: str) -> str:
    return METHOD_COLORS.get(method, "#2ca02c")


def new_figure(width: float, height: float) -> Figure:
    """A Figure not registered with pyplot (no GUI backend, safe in worker threads)."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """``<name>.png`` (150 dpi) and ``<name>.pdf``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths
