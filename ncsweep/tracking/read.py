"""Reading a study back from MLflow (for ``ncsweep tables``): runs as a pandas DataFrame."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ncsweep.tracking import client as C
from ncsweep.tracking import tags as T
from ncsweep.tracking.study import PLAN_ARTIFACT

if TYPE_CHECKING:
    import pandas as pd

# Tag → DataFrame column of a run.
TAG_COLUMNS = {
    T.STUDY: "study",
    T.STAGE: "stage",
    T.DATASET: "dataset",
    T.SSL: "ssl",
    T.AUGMENTATION: "augmentation",
    T.ZETA: "zeta",
    T.SEED: "seed",
    T.TRIAL_KEY: "trial_key",
    T.NODE: "node",
    T.HOST: "host",
    T.GIT_COMMIT: "git_commit",
    T.STAGE1_RUN_ID: "stage1_run_id",
    T.PARENT_RUN_ID: "parent_run_id",
    T.CHECKPOINT: "checkpoint",
}


class StoreError(ValueError):
    """The study's store or experiment cannot be found."""


@dataclass
class StudyRuns:
    tracking_uri: str
    experiment: str
    experiment_id: str
    parent_run_id: str | None
    runs: pd.DataFrame  # one row per trial run (parent excluded)
    expected_seeds: int | None
    plan: list[dict] | None


def resolve_store(
    study: str | Path | None, tracking_uri: str | None, experiment: str | None
) -> tuple[str, str | None]:
    """``study`` a storage directory → its SQLite store and the name in ``study.yaml``; otherwise
    ``tracking_uri`` and ``experiment`` as given (experiment None = the store's only one)."""
    if study is not None and Path(study).is_dir():
        storage = Path(study)
        db = storage / "mlflow.db"
        if tracking_uri is None and not db.is_file():
            raise StoreError(f"no MLflow store in {storage} (expected {db}); pass --tracking-uri")
        tracking_uri = tracking_uri or C.default_tracking_uri(storage)
        experiment = experiment or _study_name(storage)
    elif study is not None:
        experiment = experiment or str(study)  # STUDY given as an experiment name
    if tracking_uri is None:
        raise StoreError(
            f"{study!r} is not a storage directory; pass --tracking-uri and --experiment"
        )
    return tracking_uri, experiment


def _study_name(storage: Path) -> str | None:
    path = storage / "study.yaml"
    if not path.is_file():
        return None
    from ncsweep.config import load_yaml

    name = load_yaml(path).get("study")
    return str(name) if name else None


def _experiment(client, name: str | None):
    if name is not None:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise StoreError(f"no experiment named {name!r} in the store")
        return exp
    exps = [e for e in client.search_experiments() if e.name != "Default"]
    if len(exps) != 1:
        names = ", ".join(sorted(e.name for e in exps)) or "none"
        raise StoreError(
            f"cannot tell which experiment is the study (found: {names}); pass --experiment"
        )
    return exps[0]


def _all_runs(client, exp_id: str) -> list:
    out, token = [], None
    while True:
        page = client.search_runs([exp_id], max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def load_study(tracking_uri: str, experiment: str | None) -> StudyRuns:
    try:
        C.check_sqlite(tracking_uri)  # a clear error, not SQLAlchemy's traceback (issue 13 §4)
    except C.CorruptStoreError as exc:
        raise StoreError(str(exc)) from None
    client = C.make_client(tracking_uri)
    exp = _experiment(client, experiment)
    runs = _all_runs(client, exp.experiment_id)
    parents = [r for r in runs if r.data.tags.get(T.ROLE) == "parent"]
    parent = min(parents, key=lambda r: r.info.start_time) if parents else None
    children = [r for r in runs if r.data.tags.get(T.ROLE) != "parent"]
    expected = parent.data.tags.get(T.EXPECTED_SEEDS) if parent else None
    return StudyRuns(
        tracking_uri=tracking_uri,
        experiment=exp.name,
        experiment_id=exp.experiment_id,
        parent_run_id=parent.info.run_id if parent else None,
        runs=runs_frame(children),
        expected_seeds=int(expected) if expected else None,
        plan=_load_plan(client, parent),
    )


def _load_plan(client, parent) -> list[dict] | None:
    if parent is None:
        return None
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    if PLAN_ARTIFACT not in names:
        return None
    # Through the client: mlflow.artifacts.load_dict ignores the client's tracking URI and cannot
    # resolve a server's mlflow-artifacts:/ locations (issue 16 §2).
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(parent.info.run_id, PLAN_ARTIFACT, tmp)
        return json.loads(Path(path).read_text(encoding="utf-8"))


def runs_frame(runs: Iterable) -> pd.DataFrame:
    """One row per run: ids, status, label columns from tags, ``param.*`` and ``metric.*``."""
    import pandas as pd

    rows = []
    for r in runs:
        row = {"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status}
        row.update({col: r.data.tags.get(tag) for tag, col in TAG_COLUMNS.items()})
        row.update({f"param.{k}": v for k, v in r.data.params.items()})
        row.update({f"metric.{k}": v for k, v in r.data.metrics.items()})
        rows.append(row)
    df = pd.DataFrame(rows, columns=["run_id", "run_name", "status", *TAG_COLUMNS.values()])
    if rows:
        df = pd.DataFrame(rows)
        for col in TAG_COLUMNS.values():
            if col not in df:
                df[col] = None
    df["zeta"] = pd.to_numeric(df["zeta"], errors="coerce")
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce").astype("Int64")
    return df


def metric_histories(
    tracking_uri: str, run_ids: Sequence[str], keys: Sequence[str]
) -> pd.DataFrame:
    """Per-step values: columns run_id, key, step, value."""
    import pandas as pd

    client = C.make_client(tracking_uri)
    rows = [
        (rid, key, m.step, m.value)
        for rid in run_ids
        for key in keys
        for m in client.get_metric_history(rid, key)
    ]
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def log_files(
    tracking_uri: str, run_id: str, paths: Iterable[Path], subdir: str | None = None
) -> None:
    """Attach files (tables, figures) to a run, e.g. the study's parent run."""
    client = C.make_client(tracking_uri)
    for path in paths:
        client.log_artifact(run_id, str(path), subdir)
