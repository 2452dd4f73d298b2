"""The one place where the sweep talks to MLflow tracking (``ncsweep.tracking``).

Both sides do nothing when tracking is off (``config["tracking"]`` is None) or when
``ncsweep.tracking`` cannot be imported, so a study never fails for want of a tracking store.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from typing import Any

from ncsweep.stages import STAGES
from ncsweep.study.expand import Trial


def _tracking_module():
    try:
        import ncsweep.tracking as tracking
    except ImportError as exc:  # the study runs untracked rather than not at all
        warnings.warn(f"MLflow tracking unavailable ({exc}); running untracked", stacklevel=2)
        return None
    return tracking


def start_study_tracking(
    uri: str | None, study: str, storage: Path, space: dict, trials: list[Trial]
) -> dict[str, Any] | None:
    """Driver side: the study's parent run; returns what every trial needs to log under it."""
    tracking = _tracking_module() if uri else None
    if tracking is None:
        return None
    slim = [{"key": t.key, "stage": t.stage, "labels": t.labels} for t in trials]
    try:
        tracking.check_sqlite(uri, storage)
    except ValueError as exc:  # a corrupt store: run untracked, sync later (issue 13 §4)
        warnings.warn(f"{exc} Running untracked.", stacklevel=2)
        return {"uri": uri, "study": study, "parent_run_id": "", "reachable": False}
    # the store is checked ONCE per driver (issue 13 §3): when it does not answer, trials run
    # untracked at once instead of each waiting out retries on open and close
    tracker = tracking.StudyTracker(uri, study, storage)
    parent = tracker.start(space, plan=slim)
    info = {"uri": uri, "study": study, "parent_run_id": parent, "tracker": tracker}
    return {**info, "reachable": bool(parent)}


def untracked_trials(ledger: Any, keys: list[str]) -> list[str]:
    """Finished trials whose runs never fully reached the store (``tracked`` False in state)."""
    return [k for k in keys if ledger.is_done(k) and ledger.read(k).get("tracked") is False]


def complete_untracked(ledger: Any, keys: list[str], tracking: dict[str, Any] | None) -> None:
    """Driver side, at the end of a run: finished trials whose runs the store lacks in part (a
    driver killed between a trial's end and its run's close, an outage that ended) are synced
    from the storage directory while the store answers. Never fatal: `ncsweep sync` remains."""
    if not keys or not tracking or not tracking.get("reachable", True):
        return
    try:
        from ncsweep.tracking.sync import sync_study

        sync_study(ledger.storage, tracking["uri"], keys=set(keys))
    except Exception as exc:  # noqa: BLE001 - the results are safe on disk either way
        warnings.warn(f"could not complete the untracked trials' runs: {exc}", stacklevel=2)


class TrialTracking:
    """Trial side: wraps a ``TrialTracker`` (or nothing)."""

    def __init__(self, tracker: Any = None, ledger: Any = None, key: str = ""):
        self.tracker, self.ledger, self.key = tracker, ledger, key

    @classmethod
    def start(cls, trial: Trial, config: dict[str, Any], epoch: int) -> TrialTracking:
        """``config``: what the driver handed Tune (runtime config, storage, tracking run)."""
        info = config.get("tracking")
        tracking = _tracking_module() if info else None
        if tracking is None:
            return cls()
        from ncsweep.sweep.ledger import Ledger

        ledger = Ledger(config["storage"])
        ledger.safe_update(trial.key, tracked=False)  # True once the store has all of it
        if not info.get("reachable", True):
            return cls(None, ledger, trial.key)  # the driver found no store: sync later
        tags = {k: v for k, v in trial.labels.items() if v is not None}
        # the Ray node id, as `ncsweep status` shows it (several nodes may share a host name)
        tags["node"] = ledger.read(trial.key).get("node") or socket.gethostname()
        tags["host"] = socket.gethostname()
        deps = dict(zip(STAGES[trial.stage].depends_on, trial.depends_on, strict=True))
        if deps.get("stage1"):  # the tokenizer's run, the explicit reference tables follow
            parent_s1 = ledger.read(deps["stage1"]).get("mlflow_run_id")
            if parent_s1:
                tags["stage1_run_id"] = parent_s1
        tracker = tracking.TrialTracker(
            info["uri"],
            info["study"],
            info["parent_run_id"],
            trial.key,
            trial.stage,
            params=config["config"],
            tags=tags,
            background=True,
        )
        return cls(tracker, ledger, trial.key)

    def log_epoch(self, metrics: dict[str, Any], step: int) -> None:
        if self.tracker is not None:
            self.tracker.log_epoch(metrics, step)

    def log_final(self, metrics: dict[str, Any], out_dir: Path, trainer: Any = None) -> None:
        if self.tracker is None:
            return
        self.tracker.log_final({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
        self._log_figures(trainer)
        self._log_arrays(trainer)
        for name in ("metrics.json", "config.yaml", "history.jsonl"):
            if (out_dir / name).is_file():
                self.tracker.log_artifact(out_dir / name)
        if self.tracker.run_id:
            self.ledger.safe_update(self.key, mlflow_run_id=self.tracker.run_id)

    def _log_figures(self, trainer: Any) -> None:
        """The trainer's per-trial figures (reconstructions, t-SNE, samples vs real), if any.

        A figure that cannot be drawn is reported and skipped: it never fails a finished trial.
        """
        make = getattr(trainer, "figures", None)
        if make is None:
            return
        import matplotlib

        matplotlib.use("Agg", force=False)
        try:
            figures = make()
        except Exception as exc:  # noqa: BLE001 - plotting must not lose hours of training
            warnings.warn(
                f"trial {self.key}: figures skipped ({type(exc).__name__}: {exc})", stacklevel=2
            )
            return
        for name, fig in figures.items():
            self.tracker.log_figure(fig, name)

    def _log_arrays(self, trainer: Any) -> None:
        """The trainer's small arrays (latents, samples) as ``arrays/<stage>.npz``, read back by
        ``ncsweep figures`` for the study's PCA and t-SNE; like figures, never fatal."""
        make = getattr(trainer, "arrays", None)
        if make is None:
            return
        import tempfile

        import numpy as np

        try:
            arrays = make()
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{getattr(trainer, 'stage', 'trial')}.npz"
                np.savez_compressed(path, **arrays)
                self.tracker.log_artifact(path, "arrays")  # copied before the folder goes
        except Exception as exc:  # noqa: BLE001 - like figures: never lose a finished trial
            warnings.warn(
                f"trial {self.key}: arrays skipped ({type(exc).__name__}: {exc})", stacklevel=2
            )

    def end(self, status: str) -> None:
        if self.tracker is not None:
            delivered = self.tracker.end(status)
            if delivered and status == "FINISHED":
                self.ledger.safe_update(self.key, tracked=True)
            self.tracker = None
