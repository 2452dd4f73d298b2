"""The storage directory is the study's source of truth (docs/ARCHITECTURE.md).

``<storage>/study.yaml`` (the search space as launched), ``<storage>/plan.json`` (the expanded
trials), and per trial ``<storage>/trials/<key>/state.json`` ``{state, node, start, end,
attempts, error, ...}``. Every write is atomic (temp file + rename), so a kill at any moment
leaves either the old or the new state. No Ray here: ``ncsweep status`` reads it without a cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from ncsweep.fsutil import atomic_write_text

STATE = "state.json"
PLAN = "plan.json"
STUDY = "study.yaml"
STATES = ("pending", "running", "done", "failed", "skipped")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


class Ledger:
    """Per-trial state files under ``<storage>/trials``; safe from any process on any node."""

    def __init__(self, storage: str | Path):
        self.storage = Path(storage).expanduser().absolute()

    def trial_dir(self, key: str) -> Path:
        return self.storage / "trials" / key

    def read(self, key: str) -> dict[str, Any]:
        return read_json(self.trial_dir(key) / STATE) or {"state": "pending", "attempts": 0}

    def state(self, key: str) -> str:
        return self.read(key).get("state", "pending")

    def update(self, key: str, **changes: Any) -> dict[str, Any]:
        data = self.read(key)
        data.update(changes)
        atomic_write_text(self.trial_dir(key) / STATE, json.dumps(data, indent=2, default=str))
        return data

    def is_done(self, key: str) -> bool:
        """Done = state says so AND the results are there (a state without metrics is not done)."""
        return self.state(key) == "done" and (self.trial_dir(key) / "metrics.json").is_file()

    def mark_running(self, key: str, node: str | None = None, **extra: Any) -> dict[str, Any]:
        """``node``: Ray's node id where known (several nodes may share one host name)."""
        data = self.read(key)
        return self.update(
            key,
            state="running",
            node=node or socket.gethostname(),
            host=socket.gethostname(),
            start=time.time(),
            end=None,
            error=None,
            attempts=int(data.get("attempts", 0)) + 1,
            **extra,
        )

    def mark_done(self, key: str) -> dict[str, Any]:
        return self.update(key, state="done", end=time.time(), error=None)

    def mark_failed(self, key: str, error: str) -> dict[str, Any]:
        return self.update(key, state="failed", end=time.time(), error=error)

    def mark_skipped(self, key: str, reason: str) -> dict[str, Any]:
        return self.update(key, state="skipped", end=None, error=reason)

    # -- the study as launched ------------------------------------------------------------
    def save_study(self, space_path: str | Path, plan: list[dict[str, Any]]) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        src = Path(space_path).absolute()
        if src != (self.storage / STUDY).absolute():
            shutil.copyfile(src, self.storage / f".{STUDY}.tmp")
            os.replace(self.storage / f".{STUDY}.tmp", self.storage / STUDY)
        atomic_write_text(self.storage / PLAN, json.dumps(plan, indent=1, default=str))

    def plan(self) -> list[dict[str, Any]]:
        data = read_json(self.storage / PLAN)
        if data is None:
            raise FileNotFoundError(f"{self.storage} holds no study ({PLAN} missing)")
        return data

    def trials(self) -> list[dict[str, Any]]:
        """Every trial of the plan with its current state (``ncsweep status --json``)."""
        out = []
        for t in self.plan():
            st = self.read(t["key"])
            if st.get("state") == "done" and not self.is_done(t["key"]):
                st["state"] = "running"  # metrics not written yet: it will be re-run
            out.append(
                {
                    "key": t["key"],
                    "stage": t["stage"],
                    "state": st.get("state", "pending"),
                    "depends_on": t["depends_on"],
                    "start": st.get("start"),
                    "end": st.get("end"),
                    "node": st.get("node"),
                    "attempts": st.get("attempts", 0),
                    "error": st.get("error"),
                    "labels": t.get("labels", {}),
                }
            )
        return out
