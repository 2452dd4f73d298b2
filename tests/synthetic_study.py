"""Synthetic run frames, histories and logged arrays at any scale (e.g. the main study's 13
datasets × 7 methods × 4 seeds, which cannot be run here), shaped like what MLflow returns.

Run as a script to write every figure of a synthetic 13-dataset study for a look:
    python3 tests/synthetic_study.py /tmp/fig13
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ncsweep.viz.axes import DATASET_ORDER

METHODS = [("none", None)] + [
    (s, a) for s in ("barlowtwins", "vibcreg") for a in ("warp", "slice", "gauss")
]


def runs_frame(datasets=DATASET_ORDER, methods=METHODS, zetas=(0.2,), seeds=4, stage2=True,
               fid=None) -> pd.DataFrame:  # fmt: skip
    """One row per run; FID spans datasets by two orders of magnitude unless ``fid(ds, knn)``."""
    rng = np.random.default_rng(0)
    rows = []
    for d, ds in enumerate(datasets):
        scale = 10 ** (2 * d / max(1, len(datasets) - 1))  # FID 1 .. 100 across datasets
        for ssl, aug in methods:
            for z in zetas if ssl != "none" else (np.nan,):
                for seed in range(seeds):
                    rid = f"{ds}-{ssl}-{aug}-{z}-{seed}"
                    knn = rng.uniform(0.5, 1.0)
                    base = {"status": "FINISHED", "dataset": ds, "ssl": ssl,
                            "augmentation": aug or "none", "zeta": z, "seed": seed,
                            "stage1_run_id": None}  # fmt: skip
                    rows.append({**base, "run_id": rid, "stage": "stage1",
                                 "metric.val_recon": rng.uniform(0.05, 0.5), "metric.knn_acc": knn,
                                 "metric.svm_acc": rng.uniform(0.5, 1.0),
                                 "metric.train/ssl": np.nan if ssl == "none" else rng.uniform(1, 10),
                                 "metric.seconds": 60.0 * (1 + d) * (1.3 if ssl != "none" else 1),
                                 "metric.n_params": 530_932 + (0 if ssl == "none" else 4_300_000)})  # fmt: skip
                    if stage2:
                        f = fid(ds, knn) if fid else scale * 10 ** (0.3 - 0.6 * knn + rng.normal(0, 0.05))
                        rows.append({**base, "run_id": "s2" + rid, "stage": "stage2", "stage1_run_id": rid,
                                     "metric.fid": f, "metric.is_mean": 1 + 2 * knn, "metric.cas": knn})  # fmt: skip
    return pd.DataFrame(rows)


def history(run_ids, keys) -> pd.DataFrame:
    steps = np.arange(1, 21)
    rows = [(r, k, int(s), 1.0 / s + 0.01 * (sum(map(ord, r)) % 7))
            for r in run_ids for k in keys for s in steps]  # fmt: skip
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def arrays(run_ids, stage, n=120, length=64, classes=3) -> dict:
    """run id → the arrays a trial logs: class-structured latents, or real and generated series."""
    out = {}
    for i, rid in enumerate(run_ids):
        rng = np.random.default_rng(i)
        y = np.arange(n) % classes
        if stage == "stage1":
            out[rid] = {"latents": rng.normal(size=(n, 16)) + 2 * y[:, None], "labels": y}
        else:
            t = np.linspace(0, 2 * np.pi, length)
            real = np.sin(t[None] * (1 + y[:, None])) + 0.1 * rng.normal(size=(n, length))
            out[rid] = {"real": real, "generated": real + 0.3 * rng.normal(size=real.shape),
                        "labels": y}  # fmt: skip
    return out


if __name__ == "__main__":
    from ncsweep.tables.figures import make_figures

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fig13")
    def some(ids, stage):  # t-SNE is slow on a shared CPU: generated series of two datasets
        keep = DATASET_ORDER[:2] if stage == "stage2" else DATASET_ORDER
        return arrays([i for i in ids if i.removeprefix("s2").split("-")[0] in keep], stage)

    paths, notes = make_figures(runs_frame(), out, history, some)
    print("\n".join(str(p) for p in paths if p.suffix in (".png", ".json")))
    print("\n".join(notes))
