"""The study's figures from what MLflow stored, and ``index.json``: thesis figure number → files.

A figure whose inputs are absent is skipped with a note (e.g. no stage 2 in a ζ ablation). The
thesis numbers known for certain are the ones issue 11 §5 names (``NUMBERED``); the other figures
are listed in the index as unnumbered rather than given a guessed number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ncsweep.tables import aggregate as A
from ncsweep.tables.build import MAIN_ZETA, prepare
from ncsweep.tables.figure_arrays import embedding_figures

INDEX = "index.json"
# stem → thesis figure number (arXiv:2408.16613's thesis, as cited by issue 11 §5).
NUMBERED = {
    "curves_train_ssl": "6.7",
    "curves_val_prior_loss": "6.11",
    "pca_latents": "6.16",
    "pca_samples": "6.17",
    "tsne_samples": "6.21",
    "stage1_cost": "6.25",
}
UNNUMBERED_NOTE = (
    "Thesis numbers are established only for the figures issue 11 §5 names (6.7, 6.11, 6.16, "
    "6.17, 6.21, 6.25); the thesis code (erlendlokna/Generative-SSL-VQVAE-modelling) names no "
    "figure numbers, so the other figures are listed under 'unnumbered' instead of a guess."
)
# (history key, stage, which runs, y label, title)
CURVES = [
    ("val/recon", "stage1", "all", "validation reconstruction error", None),
    ("train/ssl", "stage1", "ssl", "SSL loss",
     "SSL loss during stage-1 training (mean ± std over seeds)"),
    ("val/prior_loss", "stage2", "all", "validation prior loss",
     "Validation prior (masked-token) loss during stage-2 training (mean ± std over seeds)"),
]  # fmt: skip


def _finished(runs: pd.DataFrame, stage: str) -> pd.DataFrame:
    return runs[(runs["stage"] == stage) & (runs["status"] == A.FINISHED)]


def _has(df: pd.DataFrame, *metrics: str) -> bool:
    return not df.empty and all(
        A.metric_col(m) in df and df[A.metric_col(m)].notna().any() for m in metrics
    )


def _main(df: pd.DataFrame) -> pd.DataFrame:
    return A.main_subset(df, MAIN_ZETA) if len(A.zetas(df)) > 1 else df


def _ssl(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["ssl"].fillna("none") != "none"]


def stage_pairs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished stage-2 runs with their stage-1 run's KNN accuracy (by ``stage1_run_id``, else by
    dataset, method, ζ and seed)."""
    s1, s2 = _finished(runs, "stage1"), _finished(runs, "stage2")
    if s1.empty or s2.empty or "metric.knn_acc" not in s1:
        return pd.DataFrame()
    left = s2.rename(columns=lambda c: c.removeprefix("metric.")).drop(
        columns="knn_acc", errors="ignore"
    )
    right = s1[["run_id", "metric.knn_acc"]].rename(
        columns={"run_id": "stage1_run_id", "metric.knn_acc": "knn_acc"}
    )
    if left["stage1_run_id"].notna().all():
        return left.merge(right, on="stage1_run_id", how="inner")
    keys = ["dataset", "method", "seed"]
    right = s1[[*keys, "metric.knn_acc"]].rename(columns={"metric.knn_acc": "knn_acc"})
    return left.merge(right, on=keys, how="inner")


class _Writer:
    """Saves figures and keeps the index: stem → files, or a skip reason."""

    def __init__(self, out_dir: Path):
        self.out_dir, self.paths, self.notes = out_dir, [], []
        self.files: dict[str, list[str]] = {}
        self.skipped: dict[str, str] = {}

    def emit(self, stem: str, ok: bool, why: str, make: Callable | None) -> None:
        """``make()`` returns a Figure, or {suffix: Figure} for one file per dataset."""
        from ncsweep.viz.style import save

        figs = make() if ok and make is not None else None
        if not figs:
            self.notes.append(f"figure {stem}: skipped ({why}).")
            self.skipped[stem] = why
            return
        many = figs if isinstance(figs, dict) else {"": figs}
        for suffix, fig in many.items():
            paths = save(fig, self.out_dir, f"{stem}_{suffix}" if suffix else stem)
            self.paths.extend(paths)
            self.files.setdefault(stem, []).extend(p.name for p in paths)

    def write_index(self, about: dict[str, str]) -> Path:
        label = lambda stem: NUMBERED.get(stem, stem)  # noqa: E731
        index = {
            "figures": {NUMBERED[s]: f for s, f in self.files.items() if s in NUMBERED},
            "unnumbered": {s: f for s, f in self.files.items() if s not in NUMBERED},
            "about": {label(s): about.get(s, "") for s in [*self.files, *self.skipped]},
            "skipped": {label(s): why for s, why in self.skipped.items()},
            "notes": [UNNUMBERED_NOTE],
        }
        index["figures"] = dict(sorted(index["figures"].items(), key=lambda kv: _num(kv[0])))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / INDEX
        path.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.paths.append(path)
        return path


def _num(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in number.split("."))


ABOUT = {
    "bars_val_recon": "mean validation reconstruction error per method and dataset",
    "bars_knn_acc": "mean KNN probe accuracy per method and dataset",
    "bars_svm_acc": "mean SVM probe accuracy per method and dataset",
    "bars_fid": "mean FID per method and dataset (log axis where the values span 10x)",
    "bars_is": "mean IS per method and dataset",
    "knn_vs_ssl_loss": "KNN accuracy against the final SSL loss, one point per run",
    "knn_vs_is": "stage-1 KNN accuracy against IS, with the least-squares line",
    "knn_vs_fid": "stage-1 KNN accuracy against FID, with the least-squares line",
    "curves_val_recon": "validation reconstruction error during stage-1 training",
    "curves_train_ssl": "SSL loss during stage-1 training",
    "curves_val_prior_loss": "validation prior loss during stage-2 training",
    "pca_latents": "PCA of stage-1 latents (test split) per method, one file per dataset",
    "pca_samples": "PCA of generated and test series per method, one file per dataset",
    "tsne_samples": "t-SNE of generated against test series per method, one file per dataset",
    "stage1_cost": "stage-1 training time and parameter count per method and dataset",
    "zeta_ablation": "ζ ablation: validation reconstruction, KNN and SVM accuracy against ζ",
}


def make_figures(
    runs: pd.DataFrame,
    out_dir: Path,
    history: Callable[[list[str], list[str]], pd.DataFrame] | None = None,
    arrays: Callable[[list[str], str], dict] | None = None,
) -> tuple[list[Path], list[str]]:
    """Write every figure the runs support (PNG + PDF) and ``index.json``. ``history(run_ids,
    keys)`` returns per-step values (columns run_id, key, step, value); ``arrays(run_ids, stage)``
    returns run id → logged arrays. Returns (paths, notes)."""
    runs = prepare(runs)
    s1, s2 = _main(_finished(runs, "stage1")), _main(_finished(runs, "stage2"))
    w = _Writer(Path(out_dir))
    _summary_figures(w, runs, s1, s2)
    _curves(w, {"stage1": s1, "stage2": s2}, history)
    embedding_figures(w.emit, s1, s2, arrays)
    _ablation(w, runs)
    w.write_index(ABOUT)
    return w.paths, w.notes


def _summary_figures(w: _Writer, runs, s1, s2) -> None:
    from ncsweep.viz import study as V

    for metric, label in [("val_recon", "validation reconstruction error"),
                          ("knn_acc", "KNN accuracy"), ("svm_acc", "SVM accuracy")]:  # fmt: skip
        w.emit(f"bars_{metric}", _has(s1, metric), f"no {metric}",
               lambda m=metric, lab=label: V.method_bars(s1, m, lab))  # fmt: skip
    w.emit("bars_fid", _has(s2, "fid"), "no stage-2 runs with fid",
           lambda: V.method_bars(s2, "fid", "FID", log=True))  # fmt: skip
    w.emit("bars_is", _has(s2, "is_mean"), "no stage-2 runs with is_mean",
           lambda: V.method_bars(s2, "is_mean", "IS"))  # fmt: skip
    ssl = _ssl(s1)
    w.emit("knn_vs_ssl_loss", _has(ssl, "knn_acc", "train/ssl"),
           "no SSL runs with train/ssl and knn_acc", lambda: V.knn_vs_ssl_loss(ssl))  # fmt: skip
    pairs = stage_pairs(runs)
    for metric, label, log in [("is_mean", "IS", False), ("fid", "FID", True)]:
        w.emit(f"knn_vs_{metric.removesuffix('_mean')}", not pairs.empty and metric in pairs,
               "no stage-1/stage-2 pairs",
               lambda m=metric, lab=label, lg=log: V.knn_vs_generation(pairs, m, lab, log=lg))  # fmt: skip
    w.emit("stage1_cost", _has(s1, "seconds", "n_params"),
           "no stage-1 runs with seconds and n_params (n_params is logged since issue 11 §5)",
           lambda: V.stage1_cost(s1))  # fmt: skip


def _curves(w: _Writer, finished: dict[str, pd.DataFrame], history) -> None:
    from ncsweep.viz import study as V

    for key, stage, which, label, title in CURVES:
        stem = "curves_" + key.replace("/", "_")
        runs = finished[stage] if which == "all" else _ssl(finished[stage])
        if history is None or runs.empty:
            w.emit(stem, False, f"no history reader or no finished {stage} runs", None)
            continue
        h = history(list(runs["run_id"]), [key])
        h = h.merge(runs[["run_id", "dataset", "method", "seed"]], on="run_id")
        w.emit(stem, not h.empty, f"no {key} history",
               lambda h=h, key=key, label=label, title=title: V.validation_curves(h, key, label, title))  # fmt: skip


def _ablation(w: _Writer, runs: pd.DataFrame) -> None:
    from ncsweep.viz import study as V

    abl = _ssl(_finished(runs, "stage1"))
    metrics = [(m, lab) for m, lab in [("val_recon", "val. recon"), ("knn_acc", "KNN acc."),
                                       ("svm_acc", "SVM acc.")] if _has(abl, m)]  # fmt: skip
    w.emit("zeta_ablation", len(A.zetas(abl)) > 1 and bool(metrics), "fewer than two ζ values",
           lambda: V.zeta_curves(abl, metrics))  # fmt: skip
