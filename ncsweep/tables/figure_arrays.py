"""The figures drawn from the arrays trials log (``arrays/<stage>.npz``): PCA of latents (6.16),
PCA of samples (6.17) and t-SNE of generated against test series (6.21), one file per dataset.

One run per (dataset, method) is shown: the lowest seed that logged its arrays, so a figure is a
picture of one model, not a blend of seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

# t-SNE's cost grows with N²: at most this many real and as many generated series per panel.
TSNE_MAX = 300


def _pick(runs: pd.DataFrame, logged: dict) -> pd.DataFrame:
    have = runs[runs["run_id"].isin(list(logged))]
    return have.sort_values("seed").drop_duplicates(["dataset", "method"])


def _per_dataset(runs: pd.DataFrame, logged: dict, value: Callable) -> dict[str, dict]:
    """dataset → {method: value(arrays)}."""
    out: dict[str, dict] = {}
    for row in _pick(runs, logged).itertuples():
        out.setdefault(row.dataset, {})[row.method] = value(logged[row.run_id])
    return out


def _thin(a: np.ndarray, n: int) -> np.ndarray:
    return a[np.linspace(0, len(a) - 1, min(n, len(a))).astype(int)] if len(a) else a


def embedding_figures(emit: Callable, s1: pd.DataFrame, s2: pd.DataFrame, arrays) -> None:
    """``emit(stem, ok, why, make)`` as in :mod:`ncsweep.tables.figures`; ``arrays(run_ids,
    stage)`` → run id → {name: array} (None: no reader, every figure skipped)."""
    from ncsweep.viz import embeddings as E

    why = "no array reader" if arrays is None else None
    lat = arrays(list(s1["run_id"]), "stage1") if arrays and not s1.empty else {}
    smp = arrays(list(s2["run_id"]), "stage2") if arrays and not s2.empty else {}
    latents = _per_dataset(s1, lat, lambda a: (a["latents"], a["labels"]))
    samples = _per_dataset(s2, smp, lambda a: (a["real"], a["generated"]))
    thin = {ds: {m: (_thin(r, TSNE_MAX), _thin(g, TSNE_MAX)) for m, (r, g) in per.items()}
            for ds, per in samples.items()}  # fmt: skip
    emit("pca_latents", bool(latents), why or "no stage-1 run logged arrays/stage1.npz",
         lambda: {ds: E.pca_latents(per, ds) for ds, per in latents.items()})  # fmt: skip
    emit("pca_samples", bool(samples), why or "no stage-2 run logged arrays/stage2.npz",
         lambda: {ds: E.pca_samples(per, ds) for ds, per in samples.items()})  # fmt: skip
    emit("tsne_samples", bool(samples), why or "no stage-2 run logged arrays/stage2.npz",
         lambda: {ds: E.tsne_samples(per, ds) for ds, per in thin.items()})  # fmt: skip
