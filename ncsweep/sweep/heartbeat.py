"""The driver's heartbeat in the storage directory (``driver.json``), read without Ray.

``ncsweep run`` / ``resume`` rewrite it every ``INTERVAL_S`` seconds while the study runs and
mark it ``finished`` or ``stopped`` when they return. A driver killed with SIGKILL (or a lost
node) cannot say so; its beat then ages, and after ``STALE_S`` seconds (at once, when the
reader runs on the driver's machine and the driver's process is gone) ``ncsweep status``
reports the driver as ``lost`` and its running trials as ``interrupted`` (``ncsweep resume``
continues them from their checkpoints). Clocks of the driver's and the reader's machine are
assumed to agree within a few seconds (NTP), as on any cluster with a shared filesystem.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ncsweep.fsutil import atomic_write_text
from ncsweep.sweep.ledger import read_json

DRIVER = "driver.json"
INTERVAL_S = 10.0
STALE_S = 60.0


class Heartbeat:
    """``with Heartbeat(storage): ...`` beats while the block runs."""

    def __init__(self, storage: str | Path, interval_s: float = INTERVAL_S):
        self.path = Path(storage) / DRIVER
        self.interval_s = interval_s
        self.info: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ncsweep-heartbeat", daemon=True)

    def _write(self, state: str, **extra: Any) -> None:
        data = {**self.info, "state": state, "beat": time.time(), **extra}
        with contextlib.suppress(OSError):  # a full or flaky disk must not stop the study
            atomic_write_text(self.path, json.dumps(data))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._write("running")

    def __enter__(self) -> Heartbeat:
        self._write("running")
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None:
            self._write("finished", ended=time.time())
        else:
            self._write("stopped", ended=time.time(), reason=exc_type.__name__)


def driver_status(storage: str | Path, now: float | None = None) -> dict[str, Any]:
    """``state``: running | lost (no beat for STALE_S) | finished | stopped | none (never ran)."""
    data = read_json(Path(storage) / DRIVER)
    if data is None:
        return {"state": "none"}
    now = time.time() if now is None else now
    data["beat_age_s"] = round(now - float(data.get("beat", 0.0)), 1)
    if data.get("state") == "running" and (data["beat_age_s"] > STALE_S or _dead_here(data)):
        data["state"] = "lost"
    return data


def _dead_here(data: dict[str, Any]) -> bool:
    """The driver ran on this machine and its process is gone (no need to wait for STALE_S)."""
    if data.get("host") != socket.gethostname() or not isinstance(data.get("pid"), int):
        return False
    try:
        os.kill(data["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def alive_here(data: dict[str, Any]) -> bool:
    """The driver ran on this machine and its process is still there (a second driver need not
    wait out the heartbeat to know). A pid reused by an unrelated process does not count."""
    if data.get("host") != socket.gethostname() or not isinstance(data.get("pid"), int):
        return False
    if data["pid"] == os.getpid() or _dead_here(data):
        return False
    try:
        cmdline = Path(f"/proc/{data['pid']}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask: the pid exists, trust it
    # empty while a process is being spawned; otherwise a driver is a python process
    return not cmdline or b"python" in cmdline or b"ncsweep" in cmdline


def live(status: dict[str, Any]) -> bool:
    return status.get("state") == "running"
