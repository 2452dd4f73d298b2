"""Issue 17 §3: ``ncsweep tables`` logs a one-page study summary (tables, CD diagrams, ζ curves)
to the study's parent run, read back here from a real MLflow SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

STUDY = "summary_study"
DATASETS = ("ECG200", "Wafer", "FordA")
METHODS = (("none", None), ("barlowtwins", "warp"), ("vibcreg", "warp"))
ZETAS = (0.1, 0.2)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    storage = tmp_path_factory.mktemp("summary_study")
    (storage / "study.yaml").write_text(f"study: {STUDY}\n")
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp = client.create_experiment(STUDY, artifact_location=(storage / "mlartifacts").as_uri())
    parent = client.create_run(exp, tags={"ncsweep.study": STUDY, "ncsweep.role": "parent",
                                          "ncsweep.expected_seeds": "2"}).info.run_id  # fmt: skip
    rng, now = np.random.default_rng(0), int(time.time() * 1000)
    for ds in DATASETS:
        for ssl, aug in METHODS:
            for z in ZETAS if ssl != "none" else (None,):
                for seed in (0, 1):
                    tags = {"mlflow.parentRunId": parent, "ncsweep.study": STUDY,
                            "ncsweep.stage": "stage1", "ncsweep.dataset": ds, "ncsweep.ssl": ssl,
                            "ncsweep.augmentation": aug or "none", "ncsweep.seed": str(seed),
                            "ncsweep.trial_key": f"s1-{ds}-{ssl}-{z}-{seed}"}  # fmt: skip
                    if z is not None:
                        tags["ncsweep.zeta"] = str(z)
                    rid = client.create_run(exp, tags=tags).info.run_id
                    final = {"val_recon": rng.uniform(0.1, 0.5), "knn_acc": rng.uniform(0.5, 1),
                             "svm_acc": rng.uniform(0.5, 1)}  # fmt: skip
                    client.log_batch(rid, metrics=[Metric(k, v, now, 1) for k, v in final.items()])
                    client.set_terminated(rid, "FINISHED")
    return storage, parent


def test_summary_page_is_logged_to_the_parent_run(store, tmp_path):
    from ncsweep.cli import main

    storage, parent = store
    res = CliRunner().invoke(main, ["tables", str(storage), "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert "summary.html" in res.output and f"logged to the parent run {parent}" in res.output
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    root = {a.path for a in client.list_artifacts(parent)}
    assert "summary.html" in root  # the run's front page in the UI
    tables = {a.path for a in client.list_artifacts(parent, "tables")}
    figures = {a.path for a in client.list_artifacts(parent, "figures")}
    assert "tables/critical_difference_knn_acc.png" in tables
    assert "tables/critical_difference_knn_acc.pdf" in tables
    assert "figures/zeta_ablation.png" in figures
    page = Path(client.download_artifacts(parent, "summary.html", str(tmp_path))).read_text()
    # the CD diagrams and the ζ curves are in the page itself (the viewer shows it alone)
    for alt in ("critical_difference_knn_acc", "critical_difference_svm_acc", "zeta_ablation"):
        assert f'alt="{alt}" src="data:image/png;base64,' in page, alt
    assert page.index('id="zeta"') > page.index('id="stats"') > page.index('id="tables"')
    assert "<td>Wafer</td>" in page and "<b>" in page  # the tables, best value in bold
    assert "**" not in page.split('id="tables"')[1].split('id="stats"')[0]


def test_markdown_tables_become_html():
    from ncsweep.tables.summary import markdown_html

    out = markdown_html("## T\n\n| a | b |\n|---|:-:|\n| x | **1 < 2** |\n\n- note\n")
    assert out.splitlines() == [
        "<h3>T</h3>",
        "<table><tr><th>a</th><th>b</th></tr><tr><td>x</td><td><b>1 &lt; 2</b></td></tr></table>",
        "<p>note</p>",
    ]
