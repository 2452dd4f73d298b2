"""Figures: per-trial (reconstructions, t-SNE, samples vs real) and the study's figures from
run tables, including the ζ ablation; each is written as PNG and PDF."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ncsweep.tables.build import prepare
from ncsweep.tables.figures import make_figures
from ncsweep.viz import latent_tsne, reconstructions, samples_vs_real, save

METHODS = [("none", None), ("barlowtwins", "warp"), ("barlowtwins", "slice"), ("vibcreg", "gauss")]


def _runs(
    datasets=("ECG200", "Wafer", "FordA"), zetas=(0.2,), seeds=2, stage2=True
) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for ds in datasets:
        for ssl, aug in METHODS:
            for z in zetas if ssl != "none" else (np.nan,):
                for seed in range(seeds):
                    rid = f"{ds}-{ssl}-{aug}-{z}-{seed}"
                    knn = rng.uniform(0.5, 1.0)
                    base = {
                        "status": "FINISHED",
                        "dataset": ds,
                        "ssl": ssl,
                        "augmentation": aug or "none",
                    }
                    base |= {"zeta": z, "seed": seed, "stage1_run_id": None}
                    rows.append({**base, "run_id": rid, "stage": "stage1", "metric.val_recon": rng.uniform(0.05, 0.5),
                                 "metric.knn_acc": knn, "metric.svm_acc": rng.uniform(0.5, 1.0),
                                 "metric.train/ssl": np.nan if ssl == "none" else rng.uniform(1, 10)})  # fmt: skip
                    if stage2:
                        rows.append({**base, "run_id": "s2" + rid, "stage": "stage2", "stage1_run_id": rid,
                                     "metric.fid": 10 ** (2 - 2 * knn + rng.normal(0, 0.1)),
                                     "metric.is_mean": 1 + 2 * knn, "metric.cas": knn})  # fmt: skip
    return pd.DataFrame(rows)


def _history(run_ids, keys):
    steps = np.arange(1, 11)
    rows = [
        (r, k, int(s), 1.0 / s + 0.01 * (hash(r) % 7)) for r in run_ids for k in keys for s in steps
    ]
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def test_per_trial_figures(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 96))  # (B, L)
    y = np.repeat([0, 1, 2], 10)
    feats = rng.normal(size=(30, 64)) + y[:, None]  # (N, 64) with class structure
    figs = {
        "recon": reconstructions(x, x + 0.1 * rng.normal(size=x.shape), n=5),
        "tsne": latent_tsne(feats, y),
        "samples": samples_vs_real(
            rng.normal(size=(15, 96)), x[:6], np.repeat([0, 1, 2], 5), np.array([0, 0, 1, 1, 2, 2])
        ),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        paths = save(fig, tmp_path, name)
        assert all(p.stat().st_size > 1000 for p in paths)
    visible = [ax for ax in figs["recon"].axes if ax.get_visible()]
    assert len(visible) == 5 and len(visible[0].lines) == 2
    assert len(figs["samples"].axes) == 6  # 3 classes × (generated, real)
    assert len(figs["tsne"].axes[0].collections) == 3  # one scatter per class


def test_study_figures_all_present(tmp_path):
    paths, notes = make_figures(_runs(), tmp_path, _history)
    names = {p.name for p in paths}
    for stem in [
        "bars_val_recon",
        "bars_knn_acc",
        "bars_fid",
        "bars_is",
        "knn_vs_ssl_loss",
        "knn_vs_is",
        "knn_vs_fid",
        "curves_val_recon",
    ]:
        assert {f"{stem}.png", f"{stem}.pdf"} <= names, stem
    assert notes == ["figure zeta_ablation: skipped (fewer than two ζ values)."]


def test_zeta_ablation_without_stage2_skips_generation_figures(tmp_path):
    runs = _runs(datasets=("FordA", "ShapesAll"), zetas=(0.05, 0.1, 0.15, 0.2), stage2=False)
    runs = runs[runs["ssl"] != "none"]
    paths, notes = make_figures(runs, tmp_path, None)
    names = {p.name for p in paths}
    assert "zeta_ablation.png" in names and "bars_val_recon.png" in names
    assert not any(n.startswith("bars_fid") or n.startswith("knn_vs_fid") for n in names)
    assert any("bars_fid" in n for n in notes) and any("knn_vs_is" in n for n in notes)


def test_fid_bars_use_log_scale():
    from ncsweep.viz.study import method_bars

    fig = method_bars(prepare(_runs()).query("stage == 'stage2'"), "fid", "FID", log=True)
    assert fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("log", [False, True])
def test_least_squares_line(log):
    from ncsweep.viz.study import knn_vs_generation

    pairs = pd.DataFrame(
        {
            "knn_acc": [0.5, 0.6, 0.7, 0.8],
            "fid": [100.0, 10.0, 1.0, 0.1],
            "method": ["Baseline"] * 4,
        }
    )
    fig = knn_vs_generation(pairs, "fid", "FID", log=log)
    line = fig.axes[0].lines[-1]
    if log:  # exact in log space: the fitted line passes through the points
        np.testing.assert_allclose(line.get_ydata()[[0, -1]], [100.0, 0.1], rtol=1e-6)
    assert "least squares" in line.get_label()
