"""``ncsweep sync``: create or complete a study's MLflow runs from its storage directory.

The storage directory is the record (docs/ARCHITECTURE.md); the store is a copy of it that an
outage, a corrupt ``mlflow.db`` or a killed trial can leave short (issue 13 §3). Sync walks the
plan in order and, per trial with results on disk, makes sure the store has: the child run (found
by its ``trial_key`` tag, created if absent) with params and tags, every epoch of
``history.jsonl`` (steps it lacks), the final metrics and ``metrics.json``/``config.yaml``/
``history.jsonl``, the figures and arrays of a finished trial (drawn again from its checkpoint),
and the run's status (FINISHED, FAILED, or KILLED for a trial no live driver runs). Idempotent:
what the store already holds is never sent again, so a second sync adds nothing.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncsweep.tracking import client as C
from ncsweep.tracking import tags as T

ARTIFACTS = ("metrics.json", "config.yaml", "history.jsonl")
BATCH = 1000  # MLflow's limit of metrics per log_batch


class SyncError(RuntimeError):
    """The store cannot be reached or the storage directory holds no study."""


@dataclass
class SyncReport:
    runs_created: int = 0
    runs_completed: int = 0  # existing runs that were missing something
    metrics: int = 0  # metric values sent (epoch histories and finals)
    files: int = 0  # artifacts and figures sent
    statuses: int = 0  # runs whose status was set
    up_to_date: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        return self.runs_created + self.metrics + self.files + self.statuses

    def line(self) -> str:
        return (
            f"{self.runs_created} runs created, {self.runs_completed} completed, "
            f"{self.up_to_date} up to date; sent {self.metrics} metric values, {self.files} "
            f"files, {self.statuses} statuses"
        )


def sync_study(
    storage: str | Path,
    tracking_uri: str | None = None,
    figures: bool = True,
    log: Callable[[str], None] | None = None,
    keys: Collection[str] | None = None,
) -> SyncReport:
    """Bring the store of ``tracking_uri`` (default: the storage's ``mlflow.db``) up to date
    (only the trials ``keys`` when given: the driver completes its untracked trials)."""
    from ncsweep.config import load_yaml
    from ncsweep.sweep.heartbeat import driver_status, live
    from ncsweep.sweep.ledger import STUDY, Ledger
    from ncsweep.tracking.study import StudyTracker

    ledger = Ledger(storage)
    if not (ledger.storage / STUDY).is_file():
        raise SyncError(f"{ledger.storage} holds no study ({STUDY} missing)")
    space = load_yaml(ledger.storage / STUDY)
    plan, name = ledger.plan(), str(space.get("study"))
    uri = tracking_uri or C.default_tracking_uri(ledger.storage)
    C.check_sqlite(uri, ledger.storage)
    parent = StudyTracker(uri, name, ledger.storage, retry_seconds=2.0)
    slim = [{"key": t["key"], "stage": t["stage"], "labels": t.get("labels", {})} for t in plan]
    if not parent.start(space, plan=slim):
        raise SyncError(f"MLflow store {uri} does not answer: {parent.outbox.last_error}")
    if _all_final(ledger, plan):
        parent.end("FINISHED")
    syncer = _Syncer(ledger, uri, name, parent.parent_run_id, figures, log or (lambda m: None))
    syncer.driver_live = live(driver_status(ledger.storage))
    for t in plan:  # topological: a stage-1 run id exists before its stage 2 is tagged with it
        if keys is None or t["key"] in keys:
            syncer.trial(t)
    return syncer.report


def _all_final(ledger, plan) -> bool:
    return all(ledger.state(t["key"]) in ("done", "failed", "skipped") for t in plan)


class _Syncer:
    def __init__(self, ledger, uri: str, study: str, parent: str, figures: bool, log):
        self.ledger, self.uri, self.study, self.parent = ledger, uri, study, parent
        self.figures, self.log, self.driver_live = figures, log, False
        self.client = C.make_client(uri)
        self.exp_id = C.experiment_id(self.client, study, uri)
        self.runs = {
            r.data.tags[T.TRIAL_KEY]: r
            for r in reversed(C.find_runs(self.client, self.exp_id, {T.STUDY: study}))
            if T.TRIAL_KEY in r.data.tags
        }  # oldest wins, as for TrialTracker
        self.report = SyncReport()

    def trial(self, t: dict[str, Any]) -> None:
        key, out = t["key"], self.ledger.trial_dir(t["key"])
        history = _history(out)
        state = self.ledger.read(key)
        done = self.ledger.is_done(key)
        if not history and not done and state.get("state") not in ("failed", "skipped"):
            return  # never started: nothing to track yet
        run = self.runs.get(key)
        todo = self._missing(run, history, done, state)
        if not todo:
            self.report.up_to_date += 1
            self._record(key, run.info.run_id, done)
            return
        tracker = self._open(t, state)
        self.report.runs_created += run is None
        self.report.runs_completed += run is not None
        self._send(tracker, out, history, done, todo, run)
        tracker.end(self._status(state, done))
        self.report.statuses += "status" in todo or run is None
        self._record(key, tracker.run_id, done)
        self.log(f"synced {key}: {', '.join(sorted(todo)) or 'created'}")

    def _missing(self, run, history, done: bool, state) -> set[str]:
        """What the store lacks of this trial (empty: up to date)."""
        if run is None:
            return {"history", "final", "files", "figures", "status"} if done else {"history"}
        todo = set()
        steps = {m.step for m in self.client.get_metric_history(run.info.run_id, "epoch")}
        if any(int(h["epoch"]) not in steps for h in history):
            todo.add("history")
        if run.info.status != self._status(state, done):
            todo.add("status")
        if done:
            from ncsweep.stages import STAGES

            stage = STAGES[run.data.tags[T.STAGE]]
            out = self.ledger.trial_dir(run.data.tags[T.TRIAL_KEY])
            names = {a.path for a in self.client.list_artifacts(run.info.run_id)}
            if any(k not in run.data.metrics for k in stage.final_metrics):
                todo.add("final")
            if any(n not in names for n in ARTIFACTS if (out / n).is_file()):
                todo.add("files")
            # figures are drawn from a checkpoint: a stage without one has none
            if self.figures and stage.checkpointed and not {"figures", "arrays"} & names:
                todo.add("figures")
        return todo

    def _status(self, state, done: bool) -> str:
        if done:
            return "FINISHED"
        if state.get("state") in ("failed", "skipped"):
            return "FAILED"
        return "RUNNING" if self.driver_live else "KILLED"  # stale RUNNING runs end here (§6)

    def _open(self, t: dict[str, Any], state: dict[str, Any]):
        from ncsweep.stages import STAGES
        from ncsweep.tracking.trial import TrialTracker

        out = self.ledger.trial_dir(t["key"])
        params = _config(out) or t["config"]
        tags = {k: v for k, v in t.get("labels", {}).items() if v is not None}
        tags.update({k: state[k] for k in ("node", "host") if state.get(k)})
        deps = dict(zip(STAGES[t["stage"]].depends_on, t["depends_on"], strict=False))
        s1 = deps.get("stage1") and self.ledger.read(deps["stage1"]).get("mlflow_run_id")
        if s1:
            tags["stage1_run_id"] = s1
        tracker = TrialTracker(
            self.uri, self.study, self.parent, t["key"], t["stage"], params, tags, retry_seconds=2.0
        )
        if tracker.run_id is None:
            raise SyncError(f"MLflow store {self.uri} stopped answering at {t['key']}")
        return tracker

    def _send(self, tracker, out: Path, history, done: bool, todo: set[str], run) -> None:
        steps = set()
        if run is not None:
            steps = {m.step for m in self.client.get_metric_history(run.info.run_id, "epoch")}
        entities = [
            m for h in history if int(h["epoch"]) not in steps
            for m in C.metric_entities(h, int(h["epoch"]))
        ]
        for i in range(0, len(entities), BATCH):
            self.client.log_batch(tracker.run_id, metrics=entities[i : i + BATCH], synchronous=True)
        self.report.metrics += len(entities)
        if not done:
            return
        tracker._last_step = max((int(h["epoch"]) for h in history), default=0)
        if "final" in todo:
            final = _final_metrics(out)
            tracker.log_final(final)
            self.report.metrics += len(final)
        if "files" in todo:
            for name in ARTIFACTS:
                if (out / name).is_file():
                    tracker.log_artifact(out / name)
                    self.report.files += 1
        if "figures" in todo:
            self.report.files += self._figures(tracker, out)

    def _figures(self, tracker, out: Path) -> int:
        """The finished trial's figures and arrays, drawn again from its checkpoint."""
        from ncsweep.sweep.tracking_hook import TrialTracking

        key = tracker.key
        t = next(p for p in self.ledger.plan() if p["key"] == key)
        try:
            trainer = _trainer(self.ledger, t)
        except Exception as exc:  # noqa: BLE001 - figures are a nicety, results are not at stake
            self.report.notes.append(f"{key}: figures skipped ({type(exc).__name__}: {exc})")
            return 0
        hook = TrialTracking(tracker, self.ledger, key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hook._log_figures(trainer)
            hook._log_arrays(trainer)
        return 1

    def _record(self, key: str, run_id: str | None, done: bool) -> None:
        changes: dict[str, Any] = {"mlflow_run_id": run_id}
        if done:
            changes["tracked"] = True
        if any(self.ledger.read(key).get(k) != v for k, v in changes.items()):
            self.ledger.safe_update(key, **changes)


def _history(out: Path) -> list[dict[str, Any]]:
    path = out / "history.jsonl"
    if not path.is_file():
        return []
    lines = [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    by_epoch = {int(h["epoch"]): h for h in lines}  # the last line of an epoch wins
    return [by_epoch[e] for e in sorted(by_epoch)]


def _final_metrics(out: Path) -> dict[str, float]:
    path = out / "metrics.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _config(out: Path) -> dict[str, Any] | None:
    path = out / "config.yaml"
    if not path.is_file():
        return None
    from ncsweep.config import load_yaml

    return load_yaml(path)


def _trainer(ledger, t: dict[str, Any]):
    """The trial's trainer, restored from its checkpoint (for its figures)."""
    from ncsweep.stages import STAGES, Place
    from ncsweep.study.expand import as_trial

    trial = as_trial(t)
    stage = STAGES[trial.stage]
    place = Place(ledger.storage / "evaluators", ledger.trial_dir)
    cfg = stage.runtime_config(copy.deepcopy(trial.config), trial, place)
    out = ledger.trial_dir(trial.key)
    trainer = stage.trainer_class()(stage.typed_config(cfg, f"trial {trial.key}"), out, "cpu")
    if stage.checkpointed:
        trainer.load(out / "checkpoint.pt")
    return trainer
