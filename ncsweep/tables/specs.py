"""The tables of the thesis (study.md): which metric, which statistic, which direction is best."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    number: str  # thesis table number
    metric: str  # final metric name logged by the trainers
    stat: str  # "mean" (± std over seeds) or "best" (best seed)
    stage: str  # runs of this stage carry the metric
    lower_is_better: bool
    fmt: str  # number format of a cell
    what: str  # words for the title

    @property
    def stem(self) -> str:
        return f"table_{self.number.replace('.', '_')}_{self.metric}_{self.stat}"

    @property
    def title(self) -> str:
        stat = "Mean over seeds of the" if self.stat == "mean" else "Best seed's"
        better = "lower" if self.lower_is_better else "higher"
        return f"Table {self.number}: {stat} {self.what} ({better} is better)"


def _s1(number, metric, stat, lower, fmt, what) -> TableSpec:
    return TableSpec(number, metric, stat, "stage1", lower, fmt, what)


def _s2(number, metric, stat, lower, fmt, what) -> TableSpec:
    return TableSpec(number, metric, stat, "stage2", lower, fmt, what)


TABLES: tuple[TableSpec, ...] = (
    _s1("6.1", "val_recon", "mean", True, ".4f", "validation reconstruction error"),
    _s1("6.2", "val_recon", "best", True, ".4f", "validation reconstruction error"),
    _s1("6.3", "knn_acc", "mean", False, ".3f", "KNN probe accuracy"),
    _s1("6.3", "svm_acc", "mean", False, ".3f", "linear SVM probe accuracy"),
    _s1("6.4", "knn_acc", "best", False, ".3f", "KNN probe accuracy"),
    _s1("6.4", "svm_acc", "best", False, ".3f", "linear SVM probe accuracy"),
    _s2("6.5", "fid", "best", True, ".2f", "FID"),
    _s2("6.5", "is_mean", "best", False, ".2f", "Inception Score"),
    _s2("6.6", "fid", "mean", True, ".2f", "FID"),
    _s2("6.6", "is_mean", "mean", False, ".2f", "Inception Score"),
    _s2("6.7", "cas", "mean", False, ".3f", "classification accuracy score (CAS)"),
)

# The ζ ablation (stage 1 only): mean over seeds as a function of ζ.
ABLATION: tuple[TableSpec, ...] = (
    _s1("zeta", "val_recon", "mean", True, ".4f", "validation reconstruction error by ζ"),
    _s1("zeta", "knn_acc", "mean", False, ".3f", "KNN probe accuracy by ζ"),
    _s1("zeta", "svm_acc", "mean", False, ".3f", "linear SVM probe accuracy by ζ"),
)
