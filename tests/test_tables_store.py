"""Tables rebuilt from a store written through MLflow's own API with known values: mean, std,
best, missing / unfinished seeds, bold, golden Markdown, the CLI, the tidy per-trial table."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
STUDY = "known"

# (dataset, ssl, augmentation, seed) → (status, final metrics); None = no run at all.
S1 = {
    ("ECG200", "none", None, 0): (
        "FINISHED",
        {"val_recon": 0.10, "knn_acc": 0.80, "svm_acc": 0.70},
    ),
    ("ECG200", "none", None, 1): (
        "FINISHED",
        {"val_recon": 0.20, "knn_acc": 0.82, "svm_acc": 0.72},
    ),
    ("ECG200", "none", None, 2): (
        "FINISHED",
        {"val_recon": 0.30, "knn_acc": 0.84, "svm_acc": 0.74},
    ),
    ("ECG200", "barlowtwins", "warp", 0): (
        "FINISHED",
        {"val_recon": 0.05, "knn_acc": 0.90, "svm_acc": 0.60},
    ),
    ("ECG200", "barlowtwins", "warp", 1): (
        "FINISHED",
        {"val_recon": 0.15, "knn_acc": 0.86, "svm_acc": 0.62},
    ),
    ("ECG200", "barlowtwins", "warp", 2): (
        "FINISHED",
        {"val_recon": 0.25, "knn_acc": 0.88, "svm_acc": 0.64},
    ),
    ("ECG200", "vibcreg", "slice", 0): (
        "FINISHED",
        {"val_recon": 0.40, "knn_acc": 0.70, "svm_acc": 0.80},
    ),
    ("ECG200", "vibcreg", "slice", 1): (
        "FINISHED",
        {"val_recon": 0.50, "knn_acc": 0.72, "svm_acc": 0.78},
    ),
    ("ECG200", "vibcreg", "slice", 2): ("RUNNING", {}),  # unfinished: no final metrics yet
    ("Wafer", "none", None, 0): ("FINISHED", {"val_recon": 0.20, "knn_acc": 0.95, "svm_acc": 0.90}),
    ("Wafer", "none", None, 1): ("FINISHED", {"val_recon": 0.40, "knn_acc": 0.97, "svm_acc": 0.92}),
    ("Wafer", "none", None, 2): ("FINISHED", {"val_recon": 0.60, "knn_acc": 0.99, "svm_acc": 0.94}),
    ("Wafer", "barlowtwins", "warp", 0): (
        "FINISHED",
        {"val_recon": 0.10, "knn_acc": 0.93, "svm_acc": 0.91},
    ),
    # failed after logging a tempting value: must not count
    ("Wafer", "barlowtwins", "warp", 1): (
        "FAILED",
        {"val_recon": 0.01, "knn_acc": 1.0, "svm_acc": 1.0},
    ),
    ("Wafer", "vibcreg", "slice", 0): (
        "FINISHED",
        {"val_recon": 0.30, "knn_acc": 0.96, "svm_acc": 0.93},
    ),
    ("Wafer", "vibcreg", "slice", 1): (
        "FINISHED",
        {"val_recon": 0.30, "knn_acc": 0.96, "svm_acc": 0.95},
    ),
    ("Wafer", "vibcreg", "slice", 2): (
        "FINISHED",
        {"val_recon": 0.30, "knn_acc": 0.98, "svm_acc": 0.97},
    ),
}
# stage 2 for ECG200 only; labels come from the stage-1 run via ncsweep.stage1_run_id
S2 = {
    ("ECG200", "none", None, 0): {"fid": 10.0, "is_mean": 1.5, "is_std": 0.1, "cas": 0.70},
    ("ECG200", "none", None, 1): {"fid": 20.0, "is_mean": 1.7, "is_std": 0.1, "cas": 0.72},
    ("ECG200", "barlowtwins", "warp", 0): {"fid": 4.0, "is_mean": 1.9, "is_std": 0.1, "cas": 0.80},
    ("ECG200", "barlowtwins", "warp", 1): {"fid": 6.0, "is_mean": 1.8, "is_std": 0.1, "cas": 0.78},
}


def _log_run(client, exp_id, parent, tags, status, final, history_steps=3):
    run = client.create_run(
        exp_id, tags={"mlflow.parentRunId": parent, **tags}, run_name=tags["ncsweep.trial_key"]
    )
    rid, now = run.info.run_id, int(time.time() * 1000)
    for step in range(1, history_steps + 1):
        client.log_batch(
            rid,
            metrics=[
                Metric("val/recon", 1.0 / step, now, step),
                Metric("train/ssl", 5.0 / step, now, step),
            ],
        )
    if final:
        client.log_batch(
            rid, metrics=[Metric(k, v, now + 1, history_steps) for k, v in final.items()]
        )
    client.set_terminated(rid, status) if status != "RUNNING" else None
    return rid


def _labels(ds, ssl, aug, seed):
    out = {
        "ncsweep.dataset": ds,
        "ncsweep.ssl": ssl,
        "ncsweep.augmentation": aug or "none",
        "ncsweep.seed": str(seed),
    }
    if ssl != "none":
        out["ncsweep.zeta"] = "0.2"
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("known_study")
    (storage / "study.yaml").write_text(f"study: {STUDY}\n")
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp_id = client.create_experiment(STUDY, artifact_location=(storage / "mlartifacts").as_uri())
    parent = client.create_run(
        exp_id,
        tags={"ncsweep.study": STUDY, "ncsweep.role": "parent", "ncsweep.expected_seeds": "3"},
    )
    pid = parent.info.run_id
    s1_ids = {}
    for (ds, ssl, aug, seed), (status, final) in S1.items():
        key = f"s1-{ds}-{ssl}-{aug}-{seed}"
        tags = {
            "ncsweep.study": STUDY,
            "ncsweep.stage": "stage1",
            "ncsweep.trial_key": key,
            **_labels(ds, ssl, aug, seed),
        }
        s1_ids[(ds, ssl, aug, seed)] = _log_run(client, exp_id, pid, tags, status, final)
    for cell, final in S2.items():
        key = "s2-" + "-".join(map(str, cell))
        tags = {
            "ncsweep.study": STUDY,
            "ncsweep.stage": "stage2",
            "ncsweep.trial_key": key,
            "ncsweep.stage1_run_id": s1_ids[cell],
        }
        _log_run(client, exp_id, pid, tags, "FINISHED", final)
    return storage


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    from ncsweep.tables import make_report
    from ncsweep.tracking import resolve_store

    uri, exp = resolve_store(store, None, None)
    return make_report(uri, exp, tmp_path_factory.mktemp("tables"))


def _cells(report, table, metric, stat) -> pd.DataFrame:
    cells = pd.read_parquet(report.out_dir / "tables.parquet")
    return cells[
        (cells["table"] == table) & (cells["metric"] == metric) & (cells["stat"] == stat)
    ].set_index(["dataset", "method"])


def test_mean_std_best_and_missing_seeds(report):
    mean = _cells(report, "6.1", "val_recon", "mean")
    assert mean.loc[("ECG200", "Baseline"), "mean"] == pytest.approx(0.2)
    assert mean.loc[("ECG200", "Baseline"), "std"] == pytest.approx(0.1)
    assert mean.loc[("ECG200", "Baseline"), "n"] == 3
    # the RUNNING seed is not averaged in, and the cell says so
    assert mean.loc[("ECG200", "VIbCReg slice"), "mean"] == pytest.approx(0.45)
    assert (mean.loc[("ECG200", "VIbCReg slice"), ["n", "expected"]] == [2, 3]).all()
    # the FAILED seed's 0.01 is ignored; one finished seed of three
    assert mean.loc[("Wafer", "BT warp"), "mean"] == pytest.approx(0.10)
    assert mean.loc[("Wafer", "BT warp"), "n"] == 1 and math.isnan(
        mean.loc[("Wafer", "BT warp"), "std"]
    )
    assert (
        mean.loc[("Wafer", "BT warp"), "mark"]
        != mean.loc[("ECG200", "VIbCReg slice"), "mark"]
        != ""
    )
    best = _cells(report, "6.2", "val_recon", "best")
    assert best.loc[("Wafer", "Baseline"), "value"] == pytest.approx(0.20)
    knn_best = _cells(report, "6.4", "knn_acc", "best")
    assert knn_best.loc[("Wafer", "Baseline"), "value"] == pytest.approx(0.99)  # highest is best


def test_bold_is_best_per_row(report):
    recon = _cells(report, "6.1", "val_recon", "mean")
    assert set(recon.index[recon["bold"]]) == {("ECG200", "BT warp"), ("Wafer", "BT warp")}
    knn = _cells(report, "6.3", "knn_acc", "mean")
    # Wafer: 0.970 and 0.967 both print as 0.97, a tie, so both are bold
    assert set(knn.index[knn["bold"]]) == {
        ("ECG200", "BT warp"),
        ("Wafer", "Baseline"),
        ("Wafer", "VIbCReg slice"),
    }
    fid = _cells(report, "6.5", "fid", "best")  # lowest FID, labels found through stage1_run_id
    assert set(fid.index[fid["bold"]]) == {("ECG200", "BT warp")}
    assert fid.loc[("ECG200", "BT warp"), "value"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    "stem",
    [
        "table_6_1_val_recon_mean",
        "table_6_2_val_recon_best",
        "table_6_3_probes_mean",
        "table_6_6_fid_is_mean",
    ],
)
def test_markdown_matches_golden(report, stem):
    got = (report.out_dir / f"{stem}.md").read_text(encoding="utf-8")
    assert got == (GOLDEN / f"{stem}.md").read_text(encoding="utf-8")


def test_outputs_and_skips(report):
    names = {p.name for p in report.tables}
    assert {"tables.md", "tables.tex", "tables.csv", "tables.parquet", "runs.parquet"} <= names
    tex = (report.out_dir / "table_6_1_val_recon_mean.tex").read_text()
    assert r"\toprule" in tex and r"\textbf{" in tex and r"\dag" in tex
    assert any("ζ-ablation" in n for n in report.notes)  # one ζ only: no ablation table
    runs = pd.read_parquet(report.out_dir / "runs.parquet")
    assert len(runs) == len(S1) + len(S2)
    assert {"metric.val_recon", "dataset", "method", "status"} <= set(runs.columns)
    assert {p.name for p in report.figures} >= {
        "bars_val_recon.png",
        "bars_fid.pdf",
        "knn_vs_fid.png",
        "curves_val_recon.png",
    }
    assert any("zeta_ablation" in n for n in report.notes)


def test_statistics_beside_the_tables(report):
    ci = pd.read_parquet(report.out_dir / "stats_ci.parquet")
    ci = ci[ci["metric"] == "val_recon"].set_index(["dataset", "method"])
    # ECG200 baseline: 0.1, 0.2, 0.3 → 0.2 ± t(0.975, 2) · 0.1/√3 = 0.2 ± 0.248414
    lo, hi = ci.loc[("ECG200", "Baseline"), ["ci_lo", "ci_hi"]]
    assert (lo, hi) == pytest.approx((0.2 - 0.248414, 0.2 + 0.248414), abs=1e-6)
    assert math.isnan(ci.loc[("Wafer", "BT warp"), "ci_lo"])  # one finished seed: no interval
    pairs = pd.read_parquet(report.out_dir / "stats_pairs.parquet")
    recon = pairs[pairs["metric"] == "val_recon"].set_index(["a", "b"])
    assert len(recon) == 3 and (recon["n"] == 2).all()  # 3 methods, 2 datasets each
    # BT warp beats the baseline on both datasets: W = 0, exact p = 2 / 2² = 0.5
    assert recon.loc[("Baseline", "BT warp"), ["statistic", "p"]].tolist() == [0.0, 0.5]
    assert recon["note"].str.contains("cannot go below 0.5").all()
    ranks = pd.read_parquet(report.out_dir / "stats_ranks.parquet")
    knn = ranks[ranks["metric"] == "knn_acc"].set_index("method")["mean_rank"]
    assert knn.to_dict() == {"Baseline": 1.5, "BT warp": 2.0, "VIbCReg slice": 2.5}
    assert {"critical_difference_knn_acc.png", "critical_difference_fid.pdf", "stats.md"} <= {
        p.name for p in report.tables
    }
    assert "say nothing" in (report.out_dir / "stats.md").read_text()
    assert any(n.startswith("Statistics: only") for n in report.notes)


def test_outputs_logged_to_parent(report, store):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    assert report.logged_to
    logged = {a.path for a in client.list_artifacts(report.logged_to, "tables")}
    assert "tables/tables.md" in logged and "tables/tables.parquet" in logged


def test_cli_tables_and_figures(store, tmp_path):
    from ncsweep.cli import main

    res = CliRunner().invoke(
        main, ["tables", str(store), "--out", str(tmp_path / "t"), "--no-figures", "--no-log"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "t" / "tables.md").is_file() and "table_6_1_val_recon_mean" in res.output
    args = ["--no-figures", "--no-log", "--std", "--layout", "per-metric", "--no-stats"]
    res = CliRunner().invoke(main, ["tables", str(store), "--out", str(tmp_path / "p"), *args])
    assert res.exit_code == 0, res.output
    knn = (tmp_path / "p" / "table_6_3_knn_acc_mean.md").read_text()
    assert "| ECG200 | 0.82 ± 0.02 | **0.88 ± 0.02** | 0.71 ± 0.01† |" in knn
    assert not (tmp_path / "p" / "stats.md").exists()
    res = CliRunner().invoke(
        main, ["figures", str(store), "--out", str(tmp_path / "f"), "--no-log"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f" / "knn_vs_is.pdf").is_file()
    res = CliRunner().invoke(
        main, ["tables", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]
    )
    assert res.exit_code != 0 and "tracking-uri" in res.output
