"""``ncsweep tables`` as a new user meets it (issue 14 §3, §8): a dead tracking server and a
study with no finished trial are one clear line with exit 1, and no (empty) tables are written."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from ncsweep.cli import main


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tables_against_a_dead_tracking_server(tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"
    r = cli("tables", "--tracking-uri", uri, "--experiment", "tiny", "--out", tmp_path / "t")
    assert r.exit_code == 1, r.output
    assert f"no MLflow server answers at {uri}" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "t").exists()


def test_tables_with_zero_finished_runs_is_an_error(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("tiny", artifact_location=str(tmp_path / "art"))
    run = client.create_run(exp, tags={"ncsweep.stage": "stage1", "ncsweep.dataset": "X"})
    client.set_terminated(run.info.run_id, "FAILED")
    r = cli("tables", "--tracking-uri", uri, "--experiment", "tiny", "--out", tmp_path / "t")
    assert r.exit_code == 1, r.output
    assert "none of the 1 trial run(s) finished" in r.output and "ncsweep status" in r.output
    assert not list(Path(tmp_path).rglob("table_*"))
