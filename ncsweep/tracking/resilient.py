"""Logging that never kills a trial: retry with backoff, then warn once and queue.

Every tracking call goes through :class:`Outbox`. Operations run in order; when one fails, it is
retried with exponential backoff for at most ``retry_seconds`` (default 15 s, env
``NCSWEEP_TRACKING_RETRY_S``). If the store still does not answer, one
:class:`TrackingUnavailableWarning` names the tracking URI, and this and every later operation is
queued (up to ``max_pending``). While the store is down each new call probes it once at most every
``probe_seconds``; when it answers again the queue is flushed in order. The trial's storage
directory stays the source of truth for what finished.

``background=True`` (what a trial uses, issue 13 §3): ``submit`` only queues; one worker thread
delivers in order, retrying with backoff, so an outage never stalls training, and :meth:`close`
waits at most ``close_seconds`` (none at all while the store is known down). What is left
undelivered is reported; ``ncsweep sync`` delivers it from the storage directory later.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("ncsweep.tracking")


class TrackingUnavailableWarning(UserWarning):
    """The tracking store did not answer; metrics are queued, the trial goes on."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class RetryPolicy:
    retry_seconds: float = 15.0  # total time spent retrying one failing operation
    first_delay: float = 0.25  # backoff: first_delay, 2×, 4×, ... until retry_seconds is spent
    probe_seconds: float = 60.0  # while down, try the store again at most this often
    max_pending: int = 100_000  # queued operations kept while down (oldest dropped beyond)
    close_seconds: float = 10.0  # background mode: the most ``close`` waits for delivery

    @classmethod
    def from_env(cls, retry_seconds: float | None = None) -> RetryPolicy:
        if retry_seconds is None:
            retry_seconds = _env_float("NCSWEEP_TRACKING_RETRY_S", cls.retry_seconds)
        probe = _env_float("NCSWEEP_TRACKING_PROBE_S", cls.probe_seconds)
        close = _env_float("NCSWEEP_TRACKING_CLOSE_S", cls.close_seconds)
        return cls(retry_seconds=retry_seconds, probe_seconds=probe, close_seconds=close)


class Outbox:
    """Runs named operations in order against a store that may be away."""

    def __init__(self, uri: str, policy: RetryPolicy | None = None, background: bool = False):
        self.uri = uri
        self.policy = policy or RetryPolicy.from_env()
        self.pending: deque[tuple[str, Callable[[], object]]] = deque()
        self.down = False
        self.warned = False
        self.dropped = 0
        self.last_error: BaseException | None = None
        self._last_probe = 0.0
        self._wake = threading.Condition()
        self._closing = False
        self._worker: threading.Thread | None = None
        if background:
            self._worker = threading.Thread(target=self._deliver, name="ncsweep-track", daemon=True)
            self._worker.start()

    def submit(self, name: str, op: Callable[[], object]) -> bool:
        """Queue ``op`` and try to deliver the queue; True when everything was delivered
        (background mode: always False at once, the worker delivers)."""
        with self._wake:
            if len(self.pending) >= self.policy.max_pending:
                self.pending.popleft()
                self.dropped += 1
            self.pending.append((name, op))
            self._wake.notify_all()
        if self._worker is not None:
            return False
        if self.down and time.monotonic() - self._last_probe < self.policy.probe_seconds:
            return False
        return self.flush(retry=not self.down)

    def _deliver(self) -> None:
        """The background worker: deliver in order; while down, probe every probe_seconds."""
        while True:
            with self._wake:
                while not self.pending and not self._closing:
                    self._wake.wait()
                if not self.pending:
                    return
            if self.flush(retry=not self.down):
                continue
            with self._wake:
                if self._closing:
                    return
                self._wake.wait(self.policy.probe_seconds)

    def close(self, wait_seconds: float | None = None) -> bool:
        """Background mode: wait (at most ``close_seconds``, not at all while the store is down)
        for the queue to drain, then stop the worker. True when everything was delivered."""
        if self._worker is None:
            if self.pending and not self.down:
                self.flush(retry=True)
            return not self.pending
        wait = self.policy.close_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + (0.0 if self.down else wait)
        while self.pending and time.monotonic() < deadline and not self.down:
            time.sleep(0.02)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        self._worker.join(timeout=max(0.0, deadline - time.monotonic()) + 0.1)
        return not self.pending

    def flush(self, retry: bool = True) -> bool:
        """Deliver queued operations in order; stop at the first one the store refuses."""
        while self.pending:
            name, op = self.pending[0]
            if not self._attempt(name, op, retry):
                return False
            with self._wake:
                if self.pending and self.pending[0][1] is op:
                    self.pending.popleft()
        if self.down:
            log.warning("tracking store %s answers again; queued operations delivered", self.uri)
            self.down = False
        return True

    def _attempt(self, name: str, op: Callable[[], object], retry: bool) -> bool:
        deadline = time.monotonic() + (self.policy.retry_seconds if retry else 0.0)
        delay = self.policy.first_delay
        while True:
            try:
                op()
                return True
            except Exception as exc:  # noqa: BLE001 — any store error must not reach the trial
                self.last_error = exc
                log.debug("%s on %s failed: %s", name, self.uri, _short(exc))
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay *= 2
        self._went_down(name)
        return False

    def _went_down(self, name: str) -> None:
        self._last_probe = time.monotonic()
        self.down = True
        if self.warned:
            return
        self.warned = True
        msg = (
            f"MLflow tracking store {self.uri} is unreachable ({name} failed after "
            f"{self.policy.retry_seconds:g} s of retries: {_short(self.last_error)}). Training goes "
            f"on; tracking calls are queued and sent when the store answers again (probed every "
            f"{self.policy.probe_seconds:g} s). The trial's storage directory stays the record."
        )
        warnings.warn(msg, TrackingUnavailableWarning, stacklevel=4)
        log.warning(msg)

    def close_report(self) -> None:
        """At the end of a trial: say what never reached the store."""
        if self.pending or self.dropped:
            msg = (
                f"MLflow tracking store {self.uri}: {len(self.pending)} operations not delivered "
                f"and {self.dropped} dropped; `ncsweep sync STORAGE` delivers them from the "
                "storage directory"
            )
            warnings.warn(msg, TrackingUnavailableWarning, stacklevel=3)
            log.warning(msg)


def _short(exc: BaseException | None, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc else "unknown error"
    return text if len(text) <= limit else text[:limit] + "…"
