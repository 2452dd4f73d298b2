"""The study's methods as tables and figures name and colour them: the baseline, then Barlow Twins
and VIbCReg × {warp, slice, gauss}. Pure data, below both ``tables/`` and ``viz/`` (so drawing a
figure in a training process never loads the tables package)."""

from __future__ import annotations

SSL_LABELS = {"none": "Baseline", "barlowtwins": "BT", "vibcreg": "VIbCReg"}
AUGMENTATIONS = ("warp", "slice", "gauss")

# Column order of every table (study.md "The tables the thesis reports").
METHOD_ORDER = ["Baseline"] + [
    f"{SSL_LABELS[s]} {a}" for s in ("barlowtwins", "vibcreg") for a in AUGMENTATIONS
]

# Baseline grey; Barlow Twins blues; VIbCReg oranges (one shade per augmentation).
METHOD_COLORS = dict(
    zip(
        METHOD_ORDER,
        ["#7f7f7f", "#08519c", "#3182bd", "#9ecae1", "#a63603", "#e6550d", "#fdae6b"],
        strict=True,
    )
)
OTHER_COLOR = "#2ca02c"  # a method outside the study's seven


def method_label(ssl: str | None, augmentation: str | None) -> str:
    """``("barlowtwins", "warp")`` → ``"BT warp"``; the baseline ignores its augmentation."""
    ssl = ssl or "none"
    if ssl == "none":
        return "Baseline"
    aug = augmentation if augmentation not in (None, "none", "None") else "none"
    return f"{SSL_LABELS.get(ssl, ssl)} {aug}"


def order_methods(labels) -> list[str]:
    """Known methods in the thesis's order, then any others alphabetically."""
    labels = set(labels)
    known = [m for m in METHOD_ORDER if m in labels]
    return known + sorted(labels - set(known))


def color(method: str) -> str:
    return METHOD_COLORS.get(method, OTHER_COLOR)
