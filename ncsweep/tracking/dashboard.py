"""The comparison dashboard: ``mlflow server`` for a study's store, bound to 127.0.0.1.

Started lean (stack.md): one worker and no job-execution consumers, in its own process group so
that stopping it stops every process it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


@dataclass
class Dashboard:
    process: subprocess.Popen
    url: str

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole process group, SIGKILL what is left after ``timeout``."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_command(tracking_uri: str, port: int, artifacts: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri]
    cmd += ["--host", HOST, "--port", str(port), "--workers", "1"]
    if artifacts is not None:
        cmd += ["--artifacts-destination", str(artifacts), "--serve-artifacts"]
    return cmd


def is_server(tracking_uri: str) -> bool:
    """An ``http(s)://`` store is already an MLflow server, and so already the UI: there is
    nothing to start (``mlflow server`` cannot take another server as its backend store)."""
    return tracking_uri.startswith(("http://", "https://"))


def answers(url: str, timeout: float = 5.0) -> bool:
    """Whether an MLflow server answers ``/health`` at ``url``."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(
    tracking_uri: str,
    port: int | None = None,
    artifacts: Path | None = None,
    log_file: Path | None = None,
) -> Dashboard:
    """Start the server (does not wait for it; see :func:`wait_ready`)."""
    port = port or free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 — child keeps it
    proc = subprocess.Popen(
        server_command(tracking_uri, port, artifacts),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stop() reaches the workers too
    )
    return Dashboard(process=proc, url=f"http://{HOST}:{port}")


def wait_ready(dash: Dashboard, timeout: float = 120.0) -> bool:
    """Poll ``/health`` until the server answers, it exits, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dash.process.poll() is not None:
            return False
        if answers(dash.url, timeout=2):
            return True
        time.sleep(0.5)
    return False
