"""The driver side: one MLflow experiment per study and one parent run, reused on re-runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ncsweep.tracking import client as C
from ncsweep.tracking import tags as T
from ncsweep.tracking.resilient import Outbox, RetryPolicy

PLAN_ARTIFACT = "plan.json"
SPACE_ARTIFACT = "study.json"


def count_seeds(space: Mapping[str, Any]) -> int | None:
    """Seeds per cell planned by a search space: the longest ``seed``/``seeds`` list anywhere in
    it (a plain list, or a ``{grid_search|values: [...]}`` mapping); None if it names none."""
    found: list[int] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("seed", "seeds"):
                    found.append(_n_values(value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(space)
    return max(found) if found else None


def _n_values(value: Any) -> int:
    if isinstance(value, Mapping):
        for key in ("grid_search", "values", "choices"):
            if isinstance(value.get(key), list):
                return len(value[key])
        return 1
    return len(value) if isinstance(value, (list, tuple)) else 1


class StudyTracker:
    """Creates (or finds) the study's experiment and parent run. Never raises on store errors:
    :meth:`start` then returns ``""`` and trials find the parent later by its tags."""

    def __init__(
        self, tracking_uri: str, study: str, storage: Path, retry_seconds: float | None = None
    ):
        self.tracking_uri = tracking_uri
        self.study = study
        self.storage = Path(storage)
        self.outbox = Outbox(tracking_uri, RetryPolicy.from_env(retry_seconds))
        self.parent_run_id = ""
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = C.make_client(self.tracking_uri)
        return self._client

    def start(
        self,
        space: dict,
        expected_seeds: int | None = None,
        plan: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        """Parent run id (reused on re-run). ``plan``: one mapping per trial (key, stage and
        labels), stored as ``plan.json`` so tables know which cells expect how many seeds."""
        seeds = expected_seeds if expected_seeds is not None else count_seeds(space)
        self.outbox.submit("start study", lambda: self._start(space, seeds, plan))
        return self.parent_run_id

    def _start(self, space: dict, seeds: int | None, plan) -> None:
        exp_id = C.experiment_id(self.client, self.study, self.tracking_uri)
        runs = C.find_runs(self.client, exp_id, {T.STUDY: self.study, T.ROLE: "parent"})
        if runs:
            run = runs[0]
            C.reopen(self.client, run)
        else:
            run = self.client.create_run(exp_id, tags={T.ROLE: "parent"}, run_name=self.study)
        self.parent_run_id = run.info.run_id
        tags = {**C.base_tags(self.study), T.ROLE: "parent", T.STORAGE: str(self.storage.resolve())}
        if seeds is not None:
            tags[T.EXPECTED_SEEDS] = str(seeds)
        C.set_tags(self.client, self.parent_run_id, tags)
        self.client.log_dict(self.parent_run_id, dict(space), SPACE_ARTIFACT)
        if plan is not None:
            self.client.log_dict(self.parent_run_id, [dict(p) for p in plan], PLAN_ARTIFACT)

    def log_artifact(self, path: Path, subdir: str | None = None) -> None:
        self.outbox.submit(f"log {path}", lambda: self._log_artifact(Path(path), subdir))

    def _log_artifact(self, path: Path, subdir: str | None) -> None:
        if not self.parent_run_id:
            raise RuntimeError("the parent run was never created")
        if path.is_dir():
            self.client.log_artifacts(self.parent_run_id, str(path), subdir)
        else:
            self.client.log_artifact(self.parent_run_id, str(path), subdir)

    def end(self, status: str = "FINISHED") -> None:
        def close() -> None:
            if self.parent_run_id:
                self.client.set_terminated(self.parent_run_id, status)

        self.outbox.submit("end study", close)
        self.outbox.close_report()
