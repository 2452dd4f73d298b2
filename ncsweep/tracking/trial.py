"""The trial side: one child run per trial key, created once and reopened by re-runs."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ncsweep.config import flatten, unflatten
from ncsweep.tracking import client as C
from ncsweep.tracking import tags as T
from ncsweep.tracking.resilient import Outbox, RetryPolicy

_COPY_LIMIT = 64 * 2**20


class TrialTracker:
    """Logs one trial. Never raises on logging errors (see :mod:`ncsweep.tracking.resilient`).

    ``params``: the resolved config (nested or already flat; logged flattened, values over
    MLflow's length limit truncated with a note). ``tags``: labels such as ``dataset``, ``ssl``,
    ``augmentation``, ``zeta``, ``seed``, ``node``, ``stage1_run_id`` (bare names get the
    ``ncsweep.`` prefix). ``run_id`` is None until the store has answered once.
    """

    def __init__(
        self,
        tracking_uri: str,
        study: str,
        parent_run_id: str | None,
        key: str,
        stage: str,
        params: dict,
        tags: dict,
        retry_seconds: float | None = None,
        background: bool = False,
    ):
        self.tracking_uri = tracking_uri
        self.study = study
        self.parent_run_id = parent_run_id or ""
        self.key = key
        self.stage = stage
        self.params = flatten(params)
        self.tags = self._all_tags(tags)
        # background: the trial never waits on the store (issue 13 §3); see resilient.py
        self.outbox = Outbox(tracking_uri, RetryPolicy.from_env(retry_seconds), background)
        self.run_id: str | None = None
        self._client = None
        self._last_step = 0
        self._tmp = Path(tempfile.mkdtemp(prefix="ncsweep-track-"))
        self.outbox.submit("open run", self._open)

    def _all_tags(self, tags: Mapping[str, Any]) -> dict[str, str]:
        out = {**T.labels_from_params(self.params), **T.normalize_tags(tags)}
        out.update({**C.base_tags(self.study), T.STAGE: self.stage, T.TRIAL_KEY: self.key})
        return out

    @property
    def client(self):
        if self._client is None:
            self._client = C.make_client(self.tracking_uri)
        return self._client

    # -- delivered in order by the outbox ----------------------------------------------------
    def _open(self) -> None:
        client = self.client
        exp_id = C.experiment_id(client, self.study, self.tracking_uri)
        if not self.parent_run_id:
            parents = C.find_runs(client, exp_id, {T.STUDY: self.study, T.ROLE: "parent"})
            self.parent_run_id = parents[0].info.run_id if parents else ""
        runs = C.find_runs(client, exp_id, {T.TRIAL_KEY: self.key})
        if runs:
            run = runs[0]
            C.reopen(client, run)
            existing = dict(run.data.params)
        else:
            run = client.create_run(exp_id, tags={T.TRIAL_KEY: self.key}, run_name=self.key)
            existing = {}
        self.run_id = run.info.run_id
        self._log_identity(existing)

    def _log_identity(self, existing: dict[str, str]) -> None:
        params, truncated = C.param_strings(self.params)
        conflicts = C.log_params(self.client, self.run_id, params, existing)
        tags = dict(self.tags)
        if self.parent_run_id:
            tags[T.PARENT_RUN_ID] = self.parent_run_id
        if truncated:
            tags[T.TRUNCATED_PARAMS] = ",".join(truncated)
        if conflicts:
            tags["ncsweep.param_conflicts"] = ",".join(conflicts)
        C.set_tags(self.client, self.run_id, tags)
        self.client.log_dict(self.run_id, unflatten(self.params), "config.yaml")

    # -- public API ---------------------------------------------------------------------------
    def log_epoch(self, metrics: dict, step: int) -> None:
        """Every metric of one epoch in one ``log_batch`` call, with ``step`` = the epoch."""
        self._last_step = max(self._last_step, int(step))
        entities = C.metric_entities(metrics, step)
        self.outbox.submit(
            f"log_epoch {step}",
            lambda: self.client.log_batch(self.run_id, metrics=entities, synchronous=True),
        )

    def log_final(self, metrics: dict, step: int | None = None) -> None:
        """Final metrics, logged at the last step so they are the run's summary values, and as
        ``metrics.json`` next to the config."""
        entities = C.metric_entities(metrics, self._last_step if step is None else step)
        final = {m.key: m.value for m in entities}
        # train_<term> is the last epoch's train/<term>, already a series: logged once (issue 14)
        entities = [m for m in entities if not m.key.startswith("train_")]

        def send() -> None:
            self.client.log_batch(self.run_id, metrics=entities, synchronous=True)
            self.client.log_dict(self.run_id, final, "metrics.json")

        self.outbox.submit("log_final", send)

    def set_tags(self, tags: dict) -> None:
        """Extra tags, e.g. ``{"checkpoint": "<storage>/trials/<key>/checkpoint.pt"}``."""
        named = T.normalize_tags(tags)
        self.outbox.submit("set_tags", lambda: C.set_tags(self.client, self.run_id, named))

    def log_artifact(self, path: Path, subdir: str | None = None) -> None:
        """A file or a folder, copied now (files up to 64 MiB) so later changes do not leak in."""
        src = Path(path)
        if not src.exists():
            return
        copy = src
        if src.is_dir() or src.stat().st_size <= _COPY_LIMIT:
            copy = self._tmp / f"{len(list(self._tmp.iterdir()))}" / src.name
            copy.parent.mkdir(parents=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, copy)
        self.outbox.submit(f"log_artifact {src.name}", lambda: self._send_artifact(copy, subdir))

    def _send_artifact(self, path: Path, subdir: str | None) -> None:
        if path.is_dir():
            self.client.log_artifacts(
                self.run_id, str(path), f"{subdir}/{path.name}" if subdir else path.name
            )
        else:
            self.client.log_artifact(self.run_id, str(path), subdir)

    def log_figure(self, fig, name: str) -> None:
        """Saved as PNG now (the caller may close the figure); sent under ``figures/``."""
        filename = name if Path(name).suffix else f"{name}.png"
        path = self._tmp / "figures" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        self.outbox.submit(f"log_figure {filename}", lambda: self._send_artifact(path, "figures"))

    def log_dict(self, data: dict, artifact_file: str) -> None:
        payload = json.loads(json.dumps(data, default=str))
        self.outbox.submit(
            f"log_dict {artifact_file}",
            lambda: self.client.log_dict(self.run_id, payload, artifact_file),
        )

    def end(self, status: str = "FINISHED") -> bool:
        """Terminate the run (FINISHED, FAILED or KILLED) after what is queued; True when the
        store got everything (else ``ncsweep sync`` completes the run from the storage dir)."""
        self.outbox.submit("end", lambda: self.client.set_terminated(self.run_id, status))
        delivered = self.outbox.close()
        self.outbox.close_report()
        shutil.rmtree(self._tmp, ignore_errors=True)
        return delivered
