"""The tables of the thesis (study.md, issue 11 §6): which metrics side by side, which statistic,
which direction is best, how many decimals, and the thesis' row order."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MetricSpec:
    name: str  # final metric name logged by the trainers
    label: str  # column-group label when several metrics share a table
    lower_is_better: bool
    decimals: int  # the thesis prints 3 for reconstruction errors, 2 for the rest
    what: str  # words for the title

    @property
    def fmt(self) -> str:
        return f".{self.decimals}f"

    @property
    def direction(self) -> str:
        return "lower" if self.lower_is_better else "higher"


RECON = MetricSpec("val_recon", "Recon.", True, 3, "validation reconstruction error")
KNN = MetricSpec("knn_acc", "KNN", False, 2, "KNN probe accuracy")
SVM = MetricSpec("svm_acc", "SVM", False, 2, "linear SVM probe accuracy")
FID = MetricSpec("fid", "FID", True, 2, "FID")
IS = MetricSpec("is_mean", "IS", False, 2, "Inception Score")
CAS = MetricSpec("cas", "CAS", False, 2, "classification accuracy score (CAS)")


@dataclass(frozen=True)
class TableSpec:
    number: str  # thesis table number
    metrics: tuple[MetricSpec, ...]  # side by side, in this order
    stat: str  # "mean" (over seeds) or "best" (best seed)
    stage: str  # runs of this stage carry the metrics
    name: str  # file-name part, e.g. "probes" → table_6_3_probes_mean

    @property
    def stem(self) -> str:
        return f"table_{self.number.replace('.', '_')}_{self.name}_{self.stat}"

    @property
    def title(self) -> str:
        stat = "Mean over seeds of the" if self.stat == "mean" else "Best seed's"
        dirs = {m.direction for m in self.metrics}
        if len(dirs) == 1:
            what = " and ".join(m.what for m in self.metrics)
            return f"Table {self.number}: {stat} {what} ({dirs.pop()} is better)"
        what = " and ".join(f"{m.what} ({m.direction} is better)" for m in self.metrics)
        return f"Table {self.number}: {stat} {what}"

    def split(self) -> tuple[TableSpec, ...]:
        """One single-metric table per metric (the ``per-metric`` layout)."""
        if len(self.metrics) == 1:
            return (self,)
        return tuple(replace(self, metrics=(m,), name=m.name) for m in self.metrics)


def _s1(number, metrics, stat, name) -> TableSpec:
    return TableSpec(number, metrics, stat, "stage1", name)


def _s2(number, metrics, stat, name) -> TableSpec:
    return TableSpec(number, metrics, stat, "stage2", name)


# The thesis' layout: KNN and SVM side by side in 6.3/6.4, FID and IS in 6.5/6.6.
TABLES: tuple[TableSpec, ...] = (
    _s1("6.1", (RECON,), "mean", "val_recon"),
    _s1("6.2", (RECON,), "best", "val_recon"),
    _s1("6.3", (KNN, SVM), "mean", "probes"),
    _s1("6.4", (KNN, SVM), "best", "probes"),
    _s2("6.5", (FID, IS), "best", "fid_is"),
    _s2("6.6", (FID, IS), "mean", "fid_is"),
    _s2("6.7", (CAS,), "mean", "cas"),
)

LAYOUTS = ("thesis", "per-metric")


def table_specs(layout: str = "thesis") -> tuple[TableSpec, ...]:
    if layout not in LAYOUTS:
        raise ValueError(f"table layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if layout == "thesis":
        return TABLES
    return tuple(s for spec in TABLES for s in spec.split())


def table_metrics() -> tuple[tuple[MetricSpec, str], ...]:
    """Every metric a table shows, once, with the stage that logs it."""
    seen: dict[str, tuple[MetricSpec, str]] = {}
    for spec in TABLES:
        for m in spec.metrics:
            seen.setdefault(m.name, (m, spec.stage))
    return tuple(seen.values())


# The ζ ablation (stage 1 only): mean over seeds as a function of ζ.
ABLATION: tuple[TableSpec, ...] = (
    _s1("zeta", (RECON,), "mean", "val_recon"),
    _s1("zeta", (KNN,), "mean", "knn_acc"),
    _s1("zeta", (SVM,), "mean", "svm_acc"),
)

# The thesis' row order (its tables 6.1-6.7); datasets it does not list follow alphabetically.
DATASET_ORDER = (
    "FordA",
    "ElectricDevices",
    "StarLightCurves",
    "Wafer",
    "ECG5000",
    "TwoPatterns",
    "UWaveGestureLibraryAll",
    "FordB",
    "ShapesAll",
    "SonyAIBORobotSurface1",
    "SonyAIBORobotSurface2",
    "Symbols",
    "Mallat",
)


def order_datasets(names) -> list[str]:
    names = {str(n) for n in names}
    known = [d for d in DATASET_ORDER if d in names]
    return known + sorted(names - set(known))


CI_METHODS = ("t", "bootstrap")
CLIQUE_TESTS = ("holm", "nemenyi")


@dataclass(frozen=True)
class TableOptions:
    """How ``ncsweep tables`` lays out and tests: the defaults are the thesis' layout."""

    layout: str = "thesis"  # or "per-metric": one table per metric
    show_std: bool = False  # append "± std" to the mean tables
    stats: bool = True  # CIs, Wilcoxon-Holm pairs, mean ranks and the CD diagram (issue 17 §1)
    ci: str = "t"  # per-cell 95 % interval over seeds: "t" or "bootstrap" (percentile)
    alpha: float = 0.05
    n_boot: int = 10_000
    cliques: str = "holm"  # CD diagram bars: Holm-corrected Wilcoxon, or Nemenyi's CD

    def __post_init__(self):
        table_specs(self.layout)  # raises on an unknown layout
        if self.ci not in CI_METHODS:
            raise ValueError(f"ci {self.ci!r}: expected one of {', '.join(CI_METHODS)}")
        if self.cliques not in CLIQUE_TESTS:
            raise ValueError(f"cliques {self.cliques!r}: expected one of {', '.join(CLIQUE_TESTS)}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha {self.alpha!r}: expected 0 < alpha < 1")
        if self.n_boot < 100:
            raise ValueError(f"n_boot {self.n_boot!r}: expected at least 100 resamples")
