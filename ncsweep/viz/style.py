"""Shared look of every figure: method colours (from ncsweep.methods), Figure creation without
pyplot, saving."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ncsweep.methods import METHOD_COLORS, color

CLASS_CMAP = "tab10"

__all__ = ["CLASS_CMAP", "METHOD_COLORS", "color", "new_figure", "save"]


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
