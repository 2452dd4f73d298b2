"""Axis habits shared by the study's figures: numbers as printed values, honest scales, grids of
panels, the thesis' dataset order."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from matplotlib.figure import Figure

# Row order of the thesis' tables (issue 11 §6); unknown datasets follow alphabetically.
DATASET_ORDER = [
    "FordA", "ElectricDevices", "StarLightCurves", "Wafer", "ECG5000", "TwoPatterns",
    "UWaveGestureLibraryAll", "FordB", "ShapesAll", "SonyAIBORobotSurface1",
    "SonyAIBORobotSurface2", "Symbols", "Mallat",
]  # fmt: skip

# A log axis is used only when the values span at least this factor; below it a log axis turns
# a 1 % difference into a visual gulf (issue 14 §6: FID 0.7722 vs 0.7669).
LOG_MIN_SPAN = 10.0
# Smallest relative span of a linear axis: a nearly constant metric (IS ≈ 1.0000025) gets a
# readable range instead of an offset label such as "1e-8+1.0000025".
MIN_REL_SPAN = 1e-3


def order_datasets(names: Iterable[str]) -> list[str]:
    names = set(names)
    known = [d for d in DATASET_ORDER if d in names]
    return known + sorted(names - set(known))


def wants_log(values) -> bool:
    """True when positive ``values`` span at least ``LOG_MIN_SPAN``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() >= LOG_MIN_SPAN


def plain_numbers(ax, which: str = "xy") -> None:
    """Tick labels as plain values (no offset), and a minimum span on linear axes."""
    for name in which:
        axis = getattr(ax, f"{name}axis")
        if axis.get_scale() != "linear":
            continue
        get, set_ = getattr(ax, f"get_{name}lim"), getattr(ax, f"set_{name}lim")
        lo, hi = get()
        need = MIN_REL_SPAN * max(abs(lo), abs(hi), 1e-12)
        if hi - lo < need:
            mid = (lo + hi) / 2
            set_(mid - need / 2, mid + need / 2)
        ax.ticklabel_format(axis=name, useOffset=False)


def panel_grid(fig: Figure, n: int, cols: int = 3, **kw) -> list:
    """``n`` visible axes in rows of ``cols``; the unused cells are hidden."""
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def grid_shape(n: int, cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols
