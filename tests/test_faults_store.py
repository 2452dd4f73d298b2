"""A SQLite MLflow store survives a kill while MLflow creates it (found by benchmarks/faults.py:
a driver SIGKILLed in its first second left a half-migrated mlflow.db that no later driver,
``tables`` or ``sync`` could open, so the study ran untracked for good)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("mlflow")

from ncsweep.tracking import client as C  # noqa: E402


def _half_created(path, runs: int = 0):
    """A store whose schema migrations never finished (its version row is missing), built at
    another path and copied, since MLflow caches the store of a URI it has opened."""
    made = path.with_name("made.db")
    client = C.make_client(f"sqlite:///{made}")
    for _ in range(runs):
        client.create_run(C.experiment_id(client, "x", f"sqlite:///{made}"))
    path.write_bytes(made.read_bytes())
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM alembic_version")
    code = f"from mlflow import MlflowClient; MlflowClient(tracking_uri='sqlite:///{path}')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0


def test_half_created_store_without_runs_is_moved_aside_and_created_again(tmp_path):
    db = tmp_path / "mlflow.db"
    _half_created(db)
    with pytest.warns(UserWarning, match="half-created"):
        client = C.make_client(f"sqlite:///{db}")
    exp = C.experiment_id(client, "x", f"sqlite:///{db}")
    client.create_run(exp)
    assert len(client.search_runs([exp])) == 1
    assert len(list(tmp_path.glob("mlflow.db.half-created-*"))) == 1  # kept, never deleted
    assert not list(tmp_path.glob(".mlflow.db.creating-*"))


def test_unopenable_store_with_runs_is_a_clear_error_and_left_as_it_is(tmp_path):
    db = tmp_path / "mlflow.db"
    _half_created(db, runs=1)
    before = db.read_bytes()
    with pytest.raises(C.CorruptStoreError, match=str(db)) as err:
        C.make_client(f"sqlite:///{db}")
    assert "ncsweep sync" in str(err.value)
    assert db.read_bytes() == before and not list(tmp_path.glob("mlflow.db.half-*"))


def test_a_kill_while_the_store_is_created_leaves_nothing_half_made(tmp_path):
    db = tmp_path / "mlflow.db"
    code = f"from ncsweep.tracking.client import make_client; make_client('sqlite:///{db}')"
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".mlflow.db.creating-*")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    time.sleep(0.05)  # inside MLflow's migrations
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not db.exists() or _opens(db)  # either not there yet, or whole
    client = C.make_client(f"sqlite:///{db}")  # the next process creates or opens it
    client.create_run(C.experiment_id(client, "x", f"sqlite:///{db}"))
    assert _opens(db)


def test_relative_sqlite_uri_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert C.sqlite_path("sqlite:///sub/mlflow.db").resolve() == tmp_path / "sub" / "mlflow.db"
    assert C.sqlite_path("sqlite:////abs/mlflow.db").as_posix() == "/abs/mlflow.db"
    C.make_client("sqlite:///sub/mlflow.db")
    assert (tmp_path / "sub" / "mlflow.db").is_file()


def _opens(db) -> bool:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return True


def test_a_store_locked_by_a_writer_is_never_moved_aside(tmp_path):
    """A fresh store with no runs yet, held by another process's write: opening it fails with
    "database is locked", which is not a half-created store; moving it aside would lose that
    writer's work."""
    made = tmp_path / "made.db"
    C.make_client(f"sqlite:///{made}")
    db = tmp_path / "mlflow.db"
    db.write_bytes(made.read_bytes())
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(Exception, match="locked") as err:
            C.make_client(f"sqlite:///{db}")
        assert not isinstance(err.value, C.CorruptStoreError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(tmp_path.glob("mlflow.db.half-created-*"))
    C.make_client(f"sqlite:///{db}").search_experiments()
