"""Shapes of the 13 UCR-2018 datasets of the study (spec/method.md §0).

A dataset named here is loaded only if its files agree with these shapes exactly; a dataset not
named here may still be loaded, and is then only checked for internal consistency.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    n_train: int
    n_test: int
    n_classes: int
    length: int


# Official UCR-2018 DataSummary.csv values; order as in the spec (largest train split first).
REGISTRY: dict[str, DatasetInfo] = {
    "ElectricDevices": DatasetInfo(8926, 7711, 7, 96),
    "FordB": DatasetInfo(3636, 810, 2, 500),
    "FordA": DatasetInfo(3601, 1320, 2, 500),
    "Wafer": DatasetInfo(1000, 6164, 2, 152),
    "TwoPatterns": DatasetInfo(1000, 4000, 4, 128),
    "StarLightCurves": DatasetInfo(1000, 8236, 3, 1024),
    "UWaveGestureLibraryAll": DatasetInfo(896, 3582, 8, 945),
    "ECG5000": DatasetInfo(500, 4500, 5, 140),
    "ShapesAll": DatasetInfo(600, 600, 60, 512),
    "Mallat": DatasetInfo(55, 2345, 8, 1024),
    "Symbols": DatasetInfo(25, 995, 6, 398),
    "SonyAIBORobotSurface2": DatasetInfo(27, 953, 2, 65),
    "SonyAIBORobotSurface1": DatasetInfo(20, 601, 2, 70),
}
