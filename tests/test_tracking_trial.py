"""StudyTracker / TrialTracker on a real SQLite store: one run per trial key (re-runs reuse and
reopen it), parent links, tags, params, per-epoch metrics with step = epoch, final metrics,
artifacts and figures."""

from __future__ import annotations

import pytest
import yaml

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

from ncsweep.tracking import StudyTracker, TrialTracker, default_tracking_uri  # noqa: E402

STUDY = "tiny"
CONFIG = {
    "data": {"dataset": "ECG200", "root": None},
    "ssl": {"method": "barlowtwins", "augmentation": "warp", "zeta": 0.2, "proj_hidden": 64},
    "run": {"seed": 1},
    "notes": "x" * 7000,  # longer than MLflow's param limit
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    storage = tmp_path_factory.mktemp("study")
    uri = default_tracking_uri(storage)
    parent = StudyTracker(uri, STUDY, storage).start({"study": STUDY, "grid": {"seed": [0, 1, 2]}})
    return storage, uri, parent


def _trial(uri, parent, key="s1-ecg200-bt-warp-1", node="node-a", **kw):
    return TrialTracker(uri, STUDY, parent, key, "stage1", CONFIG, {"node": node, **kw})


@pytest.fixture(scope="module")
def trained(study, tmp_path_factory):
    storage, uri, parent = study
    t = _trial(uri, parent)
    for epoch in (1, 2, 3):
        t.log_epoch(
            {"epoch": epoch, "train/total": 3.0 / epoch, "val/recon": 1.0 / epoch}, step=epoch
        )
    t.log_final({"val_recon": 0.25, "knn_acc": 0.9, "tokens_per_series": 40})
    ckpt = tmp_path_factory.mktemp("run") / "history.jsonl"
    ckpt.write_text('{"epoch": 1}\n')
    t.log_artifact(ckpt)
    t.set_tags({"checkpoint": str(ckpt)})
    from ncsweep.viz import reconstructions

    t.log_figure(reconstructions([[0.0, 1.0, 0.0]], [[0.1, 0.9, 0.1]]), "reconstructions")
    t.end()
    return t


def test_parent_run_reused(study):
    storage, uri, parent = study
    assert parent
    again = StudyTracker(uri, STUDY, storage).start({"study": STUDY})
    assert again == parent
    run = MlflowClient(uri).get_run(parent)
    assert (
        run.data.tags["ncsweep.role"] == "parent" and run.data.tags["ncsweep.expected_seeds"] == "3"
    )
    assert run.data.tags["ncsweep.study"] == STUDY


def test_tags_params_and_parent_link(trained, study):
    _, uri, parent = study
    run = MlflowClient(uri).get_run(trained.run_id)
    tags = run.data.tags
    assert tags["mlflow.parentRunId"] == parent
    expected = {"ncsweep.study": STUDY, "ncsweep.stage": "stage1", "ncsweep.dataset": "ECG200"}
    expected |= {
        "ncsweep.ssl": "barlowtwins",
        "ncsweep.augmentation": "warp",
        "ncsweep.zeta": "0.2",
    }
    expected |= {"ncsweep.seed": "1", "ncsweep.trial_key": trained.key, "ncsweep.node": "node-a"}
    assert expected.items() <= tags.items()
    assert tags["ncsweep.checkpoint"].endswith("history.jsonl")
    assert tags["ncsweep.truncated_params"] == "notes"
    params = run.data.params
    assert params["ssl.proj_hidden"] == "64" and params["data.root"] == "None"
    assert len(params["notes"]) == 6000 and "truncated 7000 chars" in params["notes"]
    assert run.info.status == "FINISHED"


def test_metrics_per_step_and_final(trained, study):
    client = MlflowClient(study[1])
    hist = client.get_metric_history(trained.run_id, "val/recon")
    assert sorted((m.step, m.value) for m in hist) == [
        (1, 1.0),
        (2, 0.5),
        (3, pytest.approx(1 / 3)),
    ]
    metrics = client.get_run(trained.run_id).data.metrics
    assert (
        metrics["val_recon"] == 0.25
        and metrics["knn_acc"] == 0.9
        and metrics["tokens_per_series"] == 40
    )


def test_artifacts(trained, study):
    client = MlflowClient(study[1])
    names = {a.path for a in client.list_artifacts(trained.run_id)}
    assert {"config.yaml", "metrics.json", "history.jsonl", "figures"} <= names
    assert [a.path for a in client.list_artifacts(trained.run_id, "figures")] == [
        "figures/reconstructions.png"
    ]
    uri = f"{client.get_run(trained.run_id).info.artifact_uri}/config.yaml"
    config = yaml.safe_load(mlflow.artifacts.load_text(uri))
    assert config["ssl"]["zeta"] == 0.2 and config["data"]["dataset"] == "ECG200"


def test_rerun_reuses_and_reopens_run(trained, study):
    _, uri, parent = study
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(STUDY)
    before = len(client.search_runs([exp.experiment_id]))
    retry = _trial(uri, parent, node="node-b")
    assert retry.run_id == trained.run_id
    assert client.get_run(retry.run_id).info.status == "RUNNING"  # reopened while it trains
    retry.log_epoch({"val/recon": 0.2}, step=4)
    retry.end("FAILED")
    run = client.get_run(retry.run_id)
    assert run.info.status == "FAILED" and run.data.tags["ncsweep.node"] == "node-b"
    assert len(client.search_runs([exp.experiment_id])) == before
    # a trial that starts without the parent id finds the parent by its tags
    orphan = _trial(uri, None, key="s1-orphan")
    orphan.end()
    assert client.get_run(orphan.run_id).data.tags["mlflow.parentRunId"] == parent
