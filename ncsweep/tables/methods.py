"""The table columns: the baseline, then Barlow Twins and VIbCReg × {warp, slice, gauss}."""

from __future__ import annotations

SSL_LABELS = {"none": "Baseline", "barlowtwins": "BT", "vibcreg": "VIbCReg"}
AUGMENTATIONS = ("warp", "slice", "gauss")

# Column order of every table (study.md "The tables the thesis reports").
METHOD_ORDER = ["Baseline"] + [
    f"{SSL_LABELS[s]} {a}" for s in ("barlowtwins", "vibcreg") for a in AUGMENTATIONS
]


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
