"""Critical-difference diagram (Demšar 2006, Fig. 1 style): methods on a mean-rank axis, best on
the left, thick bars joining the methods the chosen test cannot tell apart, and Nemenyi's CD as
a scale bar. ``matplotlib.figure.Figure`` only: no pyplot state, no display needed."""

from __future__ import annotations

import math
from pathlib import Path

STEP = 0.28  # vertical distance between label lines (axis units)
BAR_GAP = 0.12  # between clique bars
AXIS_IN = 4.5  # width of the rank axis, inches
CHAR_IN = 0.075  # mean width of a 9-pt character, inches


def draw(ranks, cliques, cd: float, title: str):
    """``ranks``: a pandas Series method → mean rank, best first; ``cliques``: lists of methods."""
    from matplotlib.figure import Figure

    k = len(ranks)
    names, values = list(ranks.index), [float(v) for v in ranks.to_numpy()]
    left = math.ceil(k / 2)
    bars_depth = 0.2 + BAR_GAP * len(cliques)
    rows = max(left, k - left)
    height = 1.5 + 0.22 * rows + 0.12 * len(cliques)
    label_in = (max(len(n_) for n_ in names) + 7) * CHAR_IN  # "(2.50) " + name
    width = AXIS_IN + 2 * (label_in + 0.5)
    top = 0.55 / height  # room for a two-line title
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.02, 1.0, 0.96 - top))
    lo, hi = 1, max(k, 2)
    _axis(ax, lo, hi)
    _cd_bar(ax, cd, lo, hi)
    for c_i, clique in enumerate(cliques):
        xs = [values[names.index(m)] for m in clique]
        y = -0.2 - BAR_GAP * c_i
        ax.plot([min(xs) - 0.04, max(xs) + 0.04], [y, y], color="black", lw=3.5,
                solid_capstyle="butt")  # fmt: skip
    for i, (name, r) in enumerate(zip(names, values, strict=True)):
        on_left = i < left
        # the right side half a line lower: equal ranks would otherwise draw one line across
        row = i if on_left else k - 1 - i + 0.5
        y = -bars_depth - STEP * (row + 1)
        reach = 0.35 * (hi - lo) / AXIS_IN  # the elbow lines end 0.35 in past the axis
        x_end = lo - reach if on_left else hi + reach
        ax.plot([r, r, x_end], [0, y, y], color="0.25", lw=0.9)
        label = f"{name} ({r:.2f})" if on_left else f"({r:.2f}) {name}"
        ax.text(x_end + (-0.05 if on_left else 0.05), y, label, va="center", fontsize=9,
                ha="right" if on_left else "left")  # fmt: skip
    pad = (label_in + 0.5) * (hi - lo) / AXIS_IN  # inches → rank units
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-bars_depth - STEP * (rows + 1.1), 0.75)
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9, y=0.985, va="top")
    return fig


def _axis(ax, lo: int, hi: int) -> None:
    ax.plot([lo, hi], [0, 0], color="black", lw=1.2)
    for t in range(lo, hi + 1):
        ax.plot([t, t], [0, 0.08], color="black", lw=1.0)
        ax.text(t, 0.14, str(t), ha="center", va="bottom", fontsize=9)


def _cd_bar(ax, cd: float, lo: int, hi: int) -> None:
    if not math.isfinite(cd):
        return
    end = min(lo + cd, hi)
    y = 0.55
    ax.plot([lo, end], [y, y], color="0.2", lw=1.4)
    for x in (lo, end):
        ax.plot([x, x], [y - 0.05, y + 0.05], color="0.2", lw=1.4)
    wide = " (wider than the axis)" if lo + cd > hi else ""
    ax.text((lo + end) / 2, y + 0.07, f"CD = {cd:.2f}{wide}", ha="center", va="bottom",
            fontsize=8)  # fmt: skip


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths
