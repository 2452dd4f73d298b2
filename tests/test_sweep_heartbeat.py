"""The driver's heartbeat and what `ncsweep status` makes of it (no Ray needed)."""

import json
import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.sweep.heartbeat import DRIVER, STALE_S, Heartbeat, driver_status
from ncsweep.sweep.ledger import Ledger


def test_heartbeat_beats_while_running_and_says_how_it_ended(tmp_path):
    with Heartbeat(tmp_path, interval_s=0.05):
        first = driver_status(tmp_path)
        time.sleep(0.3)
        later = driver_status(tmp_path)
        assert first["state"] == later["state"] == "running"
        assert later["beat"] > first["beat"]
    assert driver_status(tmp_path)["state"] == "finished"
    with pytest.raises(KeyboardInterrupt), Heartbeat(tmp_path, interval_s=0.05):
        raise KeyboardInterrupt
    stopped = driver_status(tmp_path)
    assert stopped["state"] == "stopped" and stopped["reason"] == "KeyboardInterrupt"


def test_silent_or_dead_driver_is_lost(tmp_path):
    assert driver_status(tmp_path) == {"state": "none"}
    with Heartbeat(tmp_path, interval_s=60):
        beat = driver_status(tmp_path)["beat"]
        assert driver_status(tmp_path, now=beat + STALE_S / 2)["state"] == "running"
        assert driver_status(tmp_path, now=beat + STALE_S + 1)["state"] == "lost"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    data = json.loads((tmp_path / DRIVER).read_text())
    data.update(state="running", pid=gone.pid, beat=time.time())  # as if SIGKILLed just now
    (tmp_path / DRIVER).write_text(json.dumps(data))
    assert driver_status(tmp_path)["state"] == "lost"


def _study_with_a_running_trial(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("name: t\n")
    ledger = Ledger(tmp_path / "st")
    plan = [{"key": "s1-a", "stage": "stage1", "depends_on": [], "labels": {}}]
    ledger.save_study(space, plan)
    ledger.mark_running("s1-a")
    return ledger.storage


def test_status_shows_trials_of_a_lost_driver_as_interrupted(tmp_path):
    storage = _study_with_a_running_trial(tmp_path)
    (storage / DRIVER).write_text(
        json.dumps({"pid": 1, "host": "elsewhere", "state": "running", "beat": time.time() - 600})
    )
    out = CliRunner().invoke(main, ["status", str(storage)])
    assert out.exit_code == 0, out.output
    assert re.search(r"driver: LOST \(pid 1 on elsewhere, silent for 6\d\d s\)", out.output)
    assert f"`ncsweep resume {storage}`" in out.output
    assert "interrupted s1-a" in " ".join(out.output.split())
    report = json.loads(CliRunner().invoke(main, ["status", str(storage), "--json"]).output)
    assert report["trials"][0]["state"] == "interrupted"
    assert report["counts"]["stage1"] == {"interrupted": 1}


def test_status_keeps_running_trials_of_a_live_driver(tmp_path):
    storage = _study_with_a_running_trial(tmp_path)
    with Heartbeat(storage, interval_s=60):
        out = CliRunner().invoke(main, ["status", str(storage), "--json"])
    report = json.loads(out.output)
    assert report["driver"]["state"] == "running"
    assert report["trials"][0]["state"] == "running"


def test_a_second_driver_waits_then_refuses_while_the_first_beats(tmp_path):
    import io

    from ncsweep.sweep.driver import StudyError, wait_for_other_driver

    out = io.StringIO()
    wait_for_other_driver(tmp_path, out, wait_s=0.2)  # nobody there: returns at once
    assert out.getvalue() == ""
    busy = r"another driver is running this study \(pid \d+"
    with Heartbeat(tmp_path, interval_s=0.05), pytest.raises(StudyError, match=busy):
        wait_for_other_driver(tmp_path, out, wait_s=0.3)
    assert "looks alive; waiting" in out.getvalue()
    wait_for_other_driver(tmp_path, out, wait_s=0.2)  # the first one finished: go


def test_a_second_driver_starts_once_the_first_falls_silent(tmp_path):
    import io
    import threading

    from ncsweep.sweep.driver import wait_for_other_driver

    (tmp_path / DRIVER).write_text(
        json.dumps({"pid": 1, "host": "elsewhere", "state": "running", "beat": time.time()})
    )

    def dies_quietly():  # as a driver on another node that stops beating, then is lost
        time.sleep(0.3)
        data = json.loads((tmp_path / DRIVER).read_text())
        data["beat"] = time.time() - STALE_S - 1
        (tmp_path / DRIVER).write_text(json.dumps(data))

    threading.Thread(target=dies_quietly).start()
    start = time.time()
    wait_for_other_driver(tmp_path, io.StringIO(), wait_s=5)
    assert time.time() - start < 5
