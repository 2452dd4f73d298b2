"""An unreachable tracking server: one clear warning naming the URI, no exception, bounded time,
and the queued calls are delivered once the store answers (documented in
ncsweep.tracking.resilient)."""

from __future__ import annotations

import socket
import time
import warnings

import pytest

from ncsweep.tracking import TrackingUnavailableWarning, TrialTracker
from ncsweep.tracking.resilient import Outbox, RetryPolicy


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block exits


def test_unreachable_server_warns_once_and_never_raises():
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = TrialTracker(
            uri, "s", None, "k1", "stage1", {"a": 1}, {"dataset": "ECG200"}, retry_seconds=1.0
        )
        for epoch in range(1, 21):
            t.log_epoch({"val/recon": 1.0 / epoch}, step=epoch)
        t.log_final({"val_recon": 0.1})
        t.end()
    elapsed = time.monotonic() - start
    ours = [w for w in caught if issubclass(w.category, TrackingUnavailableWarning)]
    assert t.run_id is None
    assert uri in str(ours[0].message) and "unreachable" in str(ours[0].message)
    assert len([w for w in ours if "unreachable" in str(w.message)]) == 1  # once, not per epoch
    assert "not delivered" in str(ours[-1].message)  # end() says what was lost
    assert elapsed < 30, elapsed  # retry budget 1 s at open and at end, not per epoch


def test_outbox_queues_while_down_and_flushes_in_order():
    delivered, store_up = [], {"up": False}

    def op(i):
        def run():
            if not store_up["up"]:
                raise ConnectionError("down")
            delivered.append(i)

        return run

    box = Outbox("http://x", RetryPolicy(retry_seconds=0.05, first_delay=0.01, probe_seconds=0.0))
    with pytest.warns(TrackingUnavailableWarning, match="http://x"):
        assert not box.submit("op0", op(0))
    assert not box.submit("op1", op(1))
    store_up["up"] = True
    assert box.submit("op2", op(2))
    assert delivered == [0, 1, 2] and not box.down and not box.pending


def test_outbox_bounded_queue_drops_oldest():
    box = Outbox("sqlite:///x", RetryPolicy(retry_seconds=0.0, probe_seconds=1e9, max_pending=3))

    def fail():
        raise OSError("no")

    with pytest.warns(TrackingUnavailableWarning):
        for i in range(5):
            box.submit(f"op{i}", fail)
    assert [n for n, _ in box.pending] == ["op2", "op3", "op4"] and box.dropped == 2
