"""Driver-side fault cases (issue 13 §3, §6), no Ray: a second driver refuses at once when the
first one's process is visibly alive here; `status` marks untracked trials and stale runs; the
end of `run` names the untracked trials and the sync command."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.stages import STAGES
from ncsweep.study import expand, parse_space
from ncsweep.sweep.heartbeat import DRIVER
from ncsweep.sweep.ledger import Ledger

SPACE = {
    "study": "drv",
    "evaluator": {"config": {"epochs": 1}},
    "stage1": {
        "config": {"optim": {"epochs": 1}},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0, 1], "variants": [{"ssl": "none"}]},
    },
    "stage2": None,
}


def test_second_driver_refuses_at_once_when_the_first_is_alive_here(tmp_path):
    from ncsweep.sweep.driver import StudyError, wait_for_other_driver

    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        beat = {"pid": first.pid, "host": socket.gethostname(), "state": "running",
                "beat": time.time()}
        (tmp_path / DRIVER).write_text(json.dumps(beat))
        start = time.monotonic()
        with pytest.raises(StudyError, match=f"pid {first.pid}"):
            wait_for_other_driver(tmp_path, io.StringIO())  # default: would wait 70 s
        assert time.monotonic() - start < 5
    finally:
        first.kill()
        first.wait()
    wait_for_other_driver(tmp_path, io.StringIO(), wait_s=0.1)  # gone: go at once


def _storage(tmp_path):
    storage = tmp_path / "st"
    storage.mkdir()
    (storage / "study.yaml").write_text(yaml.safe_dump(SPACE))
    plan = [t.to_dict() for t in expand(parse_space(SPACE))]
    ledger = Ledger(storage)
    ledger.save_study(storage / "study.yaml", plan)
    return storage, ledger, plan


def test_status_marks_untracked_and_stale_and_run_names_them(tmp_path):
    from ncsweep.sweep.driver import _name_untracked

    storage, ledger, plan = _storage(tmp_path)
    done, running = plan[0]["key"], plan[1]["key"]
    ledger.trial_dir(done).mkdir(parents=True)
    metrics = dict.fromkeys(STAGES[plan[0]["stage"]].final_metrics, 0.5)
    (ledger.trial_dir(done) / "metrics.json").write_text(json.dumps(metrics))
    ledger.update(done, tracked=False)  # the store was down when it finished
    ledger.mark_done(done)
    ledger.mark_running(running)
    beat = {"pid": 1, "host": "elsewhere", "state": "running", "beat": time.time() - 3600}
    (storage / DRIVER).write_text(json.dumps(beat))
    out = CliRunner().invoke(main, ["status", str(storage)]).output
    line = next(ln for ln in out.splitlines() if done in ln)
    assert "untracked" in line and "ncsweep sync" in line
    assert "RUNNING (stale)" in out and f"ncsweep resume {storage}" in out
    stream = io.StringIO()
    trials = expand(parse_space(SPACE))
    _name_untracked(ledger, trials, {"uri": "x"}, f"sqlite:///{storage / 'mlflow.db'}", stream)
    said = stream.getvalue()
    assert done in said and running not in said and f"`ncsweep sync {storage}`" in said
