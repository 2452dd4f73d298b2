"""A study tracked through a real ``mlflow server --serve-artifacts`` (issue 16 §2), as on a
cluster: runs and artifacts go over HTTP, artifacts land in the server's --artifacts-destination,
and ``ncsweep tables`` / ``ncsweep dashboard`` read the study back through the server's URI (the
plan artifact is an ``mlflow-artifacts:/`` location that only a client with that URI resolves)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("mlflow")

from ncsweep.cli import main  # noqa: E402
from ncsweep.tracking import dashboard as D  # noqa: E402

STUDY = "served"
PLAN = [
    {"key": f"s1-ECG200-{ssl}-{seed}", "stage": "stage1",
     "labels": {"dataset": "ECG200", "ssl": ssl, "seed": seed}}
    for ssl in ("none", "barlowtwins") for seed in (0, 1)
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The server the cluster jobs run (mlflow-server.sbatch), lean: --workers 1, no job queue,
    its own process group (stopped as a whole)."""
    root = tmp_path_factory.mktemp("server")
    dash = D.start(f"sqlite:///{root / 'mlflow.db'}", artifacts=root / "artifacts",
                   log_file=root / "server.log")  # fmt: skip
    try:
        assert D.wait_ready(dash, 180), (root / "server.log").read_text()[-3000:]
        yield dash.url, root
    finally:
        dash.stop()


@pytest.fixture(scope="module")
def study(server, tmp_path_factory):
    """Two stage-1 variants × two seeds, tracked as ``ncsweep run`` tracks them."""
    from ncsweep.tracking import StudyTracker, TrialTracker

    url, _ = server
    storage = tmp_path_factory.mktemp("storage")
    tracker = StudyTracker(url, STUDY, storage)
    parent = tracker.start({"study": STUDY}, expected_seeds=2, plan=PLAN)
    for i, p in enumerate(PLAN):
        labels = p["labels"]
        tags = {"dataset": labels["dataset"], "ssl": labels["ssl"], "seed": labels["seed"]}
        t = TrialTracker(url, STUDY, parent, p["key"], "stage1", {"seed": labels["seed"]}, tags)
        t.log_epoch({"train/recon": 1.0 - 0.1 * i}, step=1)
        t.log_final({"val_recon": 0.1 * (i + 1), "knn_acc": 0.5 + 0.1 * i, "svm_acc": 0.6})
        t.end()
    tracker.end()
    return url, parent


def test_plan_artifact_is_read_through_the_server(study):
    from ncsweep.tracking.read import load_study

    url, parent = study
    loaded = load_study(url, STUDY)
    assert loaded.parent_run_id == parent
    assert loaded.plan == json.loads(json.dumps(PLAN))  # the plan as logged, via mlflow-artifacts:/
    assert sorted(loaded.runs["trial_key"]) == sorted(p["key"] for p in PLAN)
    assert set(loaded.runs["status"]) == {"FINISHED"}


def test_artifacts_land_in_the_servers_destination(study, server):
    _, root = server
    stored = {p.name for p in (root / "artifacts").rglob("*") if p.is_file()}
    assert {"plan.json", "config.yaml", "metrics.json"} <= stored


def test_tables_cli_against_the_server(study, tmp_path):
    url, parent = study
    out = tmp_path / "tables"
    res = CliRunner().invoke(main, ["tables", STUDY, "--tracking-uri", url, "--out", str(out),
                                    "--no-figures"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"4 trial runs from {url}" in res.output
    assert (out / "tables.md").is_file()
    assert f"logged to the parent run {parent}" in res.output
    from mlflow import MlflowClient

    logged = {a.path for a in MlflowClient(url).list_artifacts(parent)}
    assert {"plan.json", "tables"} <= logged  # uploaded through the server too


def test_dashboard_cli_points_at_the_running_server(study):
    url, _ = study
    res = CliRunner().invoke(main, ["dashboard", STUDY, "--tracking-uri", url])
    assert res.exit_code == 0, res.output
    assert f"MLflow UI for {STUDY}: {url}" in res.output and "nothing started" in res.output


def test_dashboard_cli_says_when_no_server_answers():
    res = CliRunner().invoke(main, ["dashboard", STUDY, "--tracking-uri", "http://127.0.0.1:9"])
    assert res.exit_code != 0
    assert "no MLflow server answers at http://127.0.0.1:9" in res.output
