"""The storage directory is the study's source of truth (docs/ARCHITECTURE.md).

``<storage>/study.yaml`` (the search space as launched), ``<storage>/plan.json`` (the expanded
trials), and per trial ``<storage>/trials/<key>/state.json`` ``{state, node, start, end,
attempts, error, ...}``. Every write is atomic (temp file + rename), so a kill at any moment
leaves either the old or the new state. No Ray here: ``ncsweep status`` reads it without a cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from ncsweep.fsutil import atomic_write_text
from ncsweep.stages import STAGES

STATE = "state.json"
PLAN = "plan.json"
STUDY = "study.yaml"
STATES = ("pending", "running", "done", "failed", "skipped")
# trials whose own directory cannot be written (issue 13 §2): their failure is kept here instead
UNWRITABLE = "unwritable.json"
CHECKPOINT = "checkpoint.pt"


def stage_of(key: str) -> str | None:
    """A trial key's stage, from its prefix (``s1-…`` → ``stage1``); None for a foreign key."""
    prefix = key.split("-", 1)[0]
    return next((s.name for s in STAGES.values() if s.key_prefix == prefix), None)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        data = read_json(self.trial_dir(key) / STATE) or {"state": "pending", "attempts": 0}
        stuck = self._unwritable().get(key)
        return {**data, **stuck} if stuck else data

    def state(self, key: str) -> str:
        return self.read(key).get("state", "pending")

    def update(self, key: str, **changes: Any) -> dict[str, Any]:
        data = self.read(key)
        data.update(changes)
        atomic_write_text(self.trial_dir(key) / STATE, json.dumps(data, indent=2, default=str))
        if key in self._unwritable():  # writable again: its own state.json speaks for it
            self._set_unwritable(key, None)
        return data

    def is_done(self, key: str) -> bool:
        """Done = state says so AND every promised metric is there and finite (a kill in the
        scoring window leaves NaN, issue 13 §1) AND the checkpoint has its recorded size."""
        return self.incomplete(key) is None

    def incomplete(self, key: str) -> str | None:
        """Why a trial is not done (None when it is)."""
        st = self.read(key)
        if st.get("state") != "done":
            return f"state {st.get('state', 'pending')}"
        metrics = read_json(self.trial_dir(key) / "metrics.json")
        if metrics is None:
            return "no metrics.json"
        stage = STAGES.get(stage_of(key) or "")
        missing = stage.missing(metrics) if stage else []
        if missing:
            return "metrics missing or NaN: " + ", ".join(missing)
        size = st.get("checkpoint_bytes")
        ckpt = self.trial_dir(key) / CHECKPOINT
        if size is not None and (not ckpt.is_file() or ckpt.stat().st_size != size):
            return f"{ckpt} is not the checkpoint recorded when it finished (size differs)"
        return None

    # -- checkpoint content hashes (issue 13 §5) --------------------------------------------
    def record_checkpoint(self, key: str) -> dict[str, Any]:
        """Hash the finished trial's checkpoint into its state (a later stage relies on it)."""
        ckpt = self.trial_dir(key) / CHECKPOINT
        if not ckpt.is_file():
            return self.read(key)
        info = ckpt.stat()
        return self.update(
            key,
            checkpoint_sha256=file_digest(ckpt),
            checkpoint_bytes=info.st_size,
            checkpoint_mtime_ns=info.st_mtime_ns,
        )

    def verify_checkpoint(self, key: str, full: bool = True) -> str | None:
        """None when the checkpoint is the one recorded at the end of the trial, else why not.
        ``full=False`` (the driver, over every finished trial): hash only a file whose size or
        mtime moved since it was recorded (the study's stage-1 checkpoints are ~400 MB each);
        a trial about to load the file checks the full hash."""
        st, ckpt = self.read(key), self.trial_dir(key) / CHECKPOINT
        want = st.get("checkpoint_sha256")
        if want is None:
            return None  # finished before hashes were recorded, or not checkpointed
        if not ckpt.is_file():
            return f"{ckpt} is missing"
        info = ckpt.stat()
        same = (info.st_size, info.st_mtime_ns) == (st.get("checkpoint_bytes"),
                                                    st.get("checkpoint_mtime_ns"))
        if not full and same:
            return None
        if file_digest(ckpt) != want:
            return f"{ckpt} changed since the trial finished (content hash differs)"
        return None

    def quarantine_checkpoint(self, key: str, why: str) -> None:
        """Move a checkpoint that failed its hash aside (kept for a post-mortem, never loaded)."""
        ckpt = self.trial_dir(key) / CHECKPOINT
        if ckpt.is_file():
            os.replace(ckpt, ckpt.with_name(CHECKPOINT + ".corrupt"))
        note = f"{why}; set aside as {CHECKPOINT}.corrupt, the trial runs again"
        print(f"ncsweep: trial {key}: {note}", flush=True)
        self.safe_update(key, state="pending", error=None, checkpoint_note=note)

    # -- trials whose directory cannot be written (issue 13 §2) -----------------------------
    def _unwritable(self) -> dict[str, dict[str, Any]]:
        return read_json(self.storage / UNWRITABLE) or {}

    def _set_unwritable(self, key: str, record: dict[str, Any] | None) -> None:
        data = self._unwritable()
        if record is None:
            data.pop(key, None)
        else:
            data[key] = record
        atomic_write_text(self.storage / UNWRITABLE, json.dumps(data, indent=2, default=str))

    def safe_update(self, key: str, **changes: Any) -> dict[str, Any]:
        """``update``, but a trial directory that cannot be written keeps its state in
        ``<storage>/unwritable.json`` (with the OS error) instead of stopping the study."""
        try:
            return self.update(key, **changes)
        except OSError as exc:
            record = {**changes, "storage_error": f"{type(exc).__name__}: {exc}"}
            if changes.get("state") in ("failed", "skipped"):
                why = changes.get("error") or ""
                record["error"] = f"{why} (and its directory is unwritable: {exc})".lstrip()
            self._set_unwritable(key, {k: v for k, v in record.items() if k != "end"})
            return {**self.read(key), **record}

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
        return self.safe_update(key, state="failed", end=time.time(), error=error)

    def mark_skipped(self, key: str, reason: str) -> dict[str, Any]:
        return self.safe_update(key, state="skipped", end=None, error=reason)

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
            why = self.incomplete(t["key"]) if st.get("state") == "done" else None
            if why:
                st["state"], st["error"] = "running", why  # not finished: it will be re-run
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
                    "tracked": st.get("tracked"),  # False: finished but not in MLflow (sync)
                }
            )
        return out
