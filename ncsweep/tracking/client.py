"""MLflow client plumbing shared by the trackers and the readers (mlflow imported lazily)."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ncsweep.tracking import tags as T

# MLflow's limits (mlflow.utils.validation): longer param values are truncated with a note.
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
PARAMS_PER_BATCH = 100


def default_tracking_uri(storage: Path) -> str:
    """``sqlite:///<storage>/mlflow.db`` (absolute), the default store of a study."""
    return f"sqlite:///{Path(storage).resolve() / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None. SQLAlchemy's reading:
    ``sqlite:///runs/mlflow.db`` is relative to the working directory, ``sqlite:////abs``
    absolute."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(unquote(urlparse(uri).path[1:]))


class CorruptStoreError(ValueError):
    """A local SQLite store that SQLite itself cannot read (issue 13 §4)."""


def check_sqlite(uri: str, storage: Path | None = None) -> None:
    """Raise :class:`CorruptStoreError` naming the file and the way out when the ``sqlite:///``
    store of ``uri`` exists but is not a readable database; nothing for other stores."""
    import sqlite3

    db = sqlite_path(uri)
    if db is None or not db.is_file():
        return
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as con:
            verdict = con.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    if verdict != "ok":
        raise CorruptStoreError(_way_out(db, verdict, storage))


def _way_out(db: Path, why: str, storage: Path | None = None) -> str:
    where = storage or (db.parent if (db.parent / "study.yaml").is_file() else "STORAGE")
    return (
        f"MLflow store {db} is corrupt ({why}). The study's storage directory holds "
        f"every result: rebuild the runs into a new store with `ncsweep sync {where} "
        f"--tracking-uri sqlite:///{db.with_name('mlflow-synced.db')}`, then pass that "
        "--tracking-uri to tables, figures and dashboard (or move the new file over the old)."
    )


def artifact_location(uri: str) -> str | None:
    """Artifacts of a local SQLite store live beside it (``<dir>/mlartifacts``), not in the cwd.
    For a server, None lets the server choose (``--artifacts-destination``)."""
    db = sqlite_path(uri)
    return (db.parent / "mlartifacts").resolve().as_uri() if db else None


def make_client(uri: str):
    """An ``MlflowClient``; for an HTTP server MLflow's own retries are shortened (ours bound the
    total wait) unless the user set them. A new SQLite store is created atomically."""
    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow import MlflowClient

    db = sqlite_path(uri)
    if db is None:
        return MlflowClient(tracking_uri=uri)
    if not db.exists():
        _create_sqlite(db)
    try:
        return MlflowClient(tracking_uri=uri)
    except Exception as exc:  # noqa: BLE001 - any failure to set the store up
        why = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        if "locked" in why or "busy" in why:  # another process is writing it: not broken, and
            raise  # moving a live store aside would lose that process's writes
        if not _holds_no_runs(db):
            raise CorruptStoreError(_way_out(db, why)) from exc
        aside = db.with_name(f"{db.name}.half-created-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(db, aside)
        warnings.warn(
            f"MLflow store {db} was left half-created (a process stopped while MLflow set it "
            f"up: {why[:200]}); it held no runs, so it was moved to "
            f"{aside} and created again",
            stacklevel=2,
        )
        _create_sqlite(db)
        _forget_engine(uri)
        return MlflowClient(tracking_uri=uri)


def _forget_engine(uri: str) -> None:
    """MLflow keeps one SQLAlchemy engine per URI for the process; its pooled connections still
    point at the file that was moved aside. Disposing it makes the next open read the new one
    (a private map of MLflow 3: where it is gone, a fresh process still opens the new file)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engines = getattr(SqlAlchemyStore, "_engine_map", {})
    engine = engines.pop(uri, None) if isinstance(engines, dict) else None
    if engine is not None:
        engine.dispose()


def _create_sqlite(db: Path) -> None:
    """MLflow sets a new SQLite store up with ~50 schema migrations; a process killed among them
    leaves a file no later MLflow opens (found by benchmarks/faults.py: a driver SIGKILL in its
    first second). So the store is built under a temporary name and linked into place whole;
    of two processes creating it at once, the first link wins and both use that file."""
    from mlflow import MlflowClient

    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.creating-{os.getpid()}-{time.monotonic_ns()}")
    try:
        MlflowClient(tracking_uri=f"sqlite:///{tmp.resolve()}")  # runs the migrations
        try:
            os.link(tmp, db)  # never replaces a store another process finished first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not db.exists():
                os.replace(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)


def _holds_no_runs(db: Path) -> bool:
    """True when ``db`` has no run a user could lose (no ``runs`` table, or an empty one)."""
    import sqlite3

    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return "runs" not in tables or con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    except sqlite3.DatabaseError:
        return False  # unreadable: check_sqlite's clear error, never moved aside


def experiment_id(client, name: str, uri: str) -> str:
    """The id of experiment ``name``, created (with artifacts beside a SQLite store) if absent."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except Exception:
        exp = client.get_experiment_by_name(name)  # another process created it meanwhile
        if exp is None:
            raise
        return exp.experiment_id


def find_runs(client, exp_id: str, filters: Mapping[str, str]) -> list:
    """Runs whose tags equal ``filters``, oldest first."""
    clauses = [f"tags.\"{k}\" = '{_quote(v)}'" for k, v in filters.items()]
    runs = client.search_runs(
        [exp_id], filter_string=" and ".join(clauses), order_by=["attributes.start_time ASC"]
    )
    return list(runs)


def _quote(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def param_strings(params: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Params as MLflow strings; values over MLflow's limit are truncated with a visible note.
    Returns (params, names of the truncated ones)."""
    out, truncated = {}, []
    for key, value in params.items():
        text = "None" if value is None else str(value)
        if len(text) > MAX_PARAM_VALUE:
            note = f"…[truncated {len(text)} chars]"
            text = text[: MAX_PARAM_VALUE - len(note)] + note
            truncated.append(key)
        out[key] = text
    return out, truncated


def log_params(
    client, run_id: str, params: Mapping[str, str], existing: Mapping[str, str]
) -> list[str]:
    """Log params not yet on the run (MLflow refuses to change a logged param); returns the keys
    whose logged value differs from ``params`` (kept as logged)."""
    from mlflow.entities import Param

    new = [Param(k, v) for k, v in params.items() if k not in existing]
    for i in range(0, len(new), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=new[i : i + PARAMS_PER_BATCH], synchronous=True)
    return sorted(k for k, v in params.items() if k in existing and existing[k] != v)


def set_tags(client, run_id: str, tags: Mapping[str, str]) -> None:
    from mlflow.entities import RunTag

    items = [RunTag(k, str(v)[:MAX_TAG_VALUE]) for k, v in tags.items()]
    for i in range(0, len(items), PARAMS_PER_BATCH):
        client.log_batch(run_id, tags=items[i : i + PARAMS_PER_BATCH], synchronous=True)


def metric_entities(metrics: Mapping[str, Any], step: int) -> list:
    """Numeric values only (bools and strings are not metrics); one timestamp for the batch."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    out = []
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)  # numpy / torch scalars
            except (TypeError, ValueError):
                continue
        out.append(Metric(key, float(value), now, int(step)))
    return out


def reopen(client, run) -> None:
    """A re-run or retried trial continues its own run: mark it RUNNING again."""
    if run.info.status != "RUNNING":
        client.update_run(run.info.run_id, status="RUNNING")


def base_tags(study: str) -> dict[str, str]:
    out = {T.STUDY: study}
    sha = T.git_commit()
    if sha:
        out[T.GIT_COMMIT] = sha
    return out
