"""Studies on a real 2-node Ray cluster (CPU only, 1 logical GPU per node) with tiny real trials.

One cluster for the module. The in-process study checks GPU limits, dependency order,
pipelining, both nodes, a retried trial resuming from its checkpoint and a failure skipping its
dependents; the subprocess study kills the driver mid-study and relaunches it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray.tune")
pytestmark = [pytest.mark.ray, pytest.mark.slow]

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

S1_TINY = {
    "optim": {"batch_size": 32},
    "ssl": {"proj_hidden": 32, "proj_out": 32, "iternorm_groups": 8},
    "run": {"eval_every": 100, "checkpoint_every": 1},
}
# the VIbCReg run always fails; the (long) Barlow Twins run fails once after 1 epoch, is retried
LONG = 80  # epochs of the long Barlow Twins stage 1 (~0.6 s each here; it must outlast ~5
# fresh trial processes on the other GPU: ev, s1-none, the failing s1 twice, then s2-none)
KILLED_LONG = 60  # the long trial of the driver-kill test
FAILURES = "s1-SonyAIBORobotSurface1-vibcreg@0:always,s1-SonyAIBORobotSurface1-barlowtwins@1"


def _space(datasets, long_epochs, stage2=True, failing=False):
    space = {
        "study": "raytest",
        "defaults": {"run": {"device": "cpu"}},
        "evaluator": {"config": {"epochs": 2}, "resources": {"gpu": 1, "cpu": 1}},
        "stage1": {
            "config": S1_TINY,
            "resources": {"gpu": 1, "cpu": 1},
            "grid": {
                "dataset": datasets,
                "seed": [0],
                "variants": [
                    {"ssl": "none", "config": {"optim": {"epochs": 1}}},
                    {
                        "ssl": "barlowtwins",
                        "augmentation": "warp",
                        "config": {"optim": {"epochs": long_epochs}},
                    },
                ]
                + (
                    [
                        {
                            "ssl": "vibcreg",
                            "augmentation": "gauss",
                            "config": {"optim": {"epochs": 1}},
                        }
                    ]
                    if failing
                    else []
                ),
            },
        },
        "stage2": {
            "config": {
                "optim": {"epochs": 1, "batch_size": 32},
                "prior": {"hidden": 32, "n_layers": 1, "head_dim": 16},
                "sampling": {"steps": 2, "batch_size": 64},
                "eval": {"cas_min_samples": 40, "cas_epochs": 1},
            },
            "resources": {"gpu": 1, "cpu": 1},
        }
        if stage2
        else None,
    }
    return space


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster()
    for _ in range(2):
        c.add_node(num_cpus=2, num_gpus=1, object_store_memory=80 * 2**20)
    ray.init(address=c.address, runtime_env={"env_vars": {"NCSWEEP_TEST_FAIL": FAILURES}})
    yield c
    ray.shutdown()
    c.shutdown()


def _write(tmp: Path, space: dict) -> Path:
    path = tmp / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    return path


def _trials(storage: Path) -> dict[str, dict]:
    from ncsweep.sweep.ledger import Ledger

    return {t["key"]: t for t in Ledger(storage).trials()}


def _history_epochs(storage: Path, key: str) -> list[int]:
    path = storage / "trials" / key / "history.jsonl"
    if not path.is_file():
        return []
    return [int(json.loads(ln)["epoch"]) for ln in path.read_text().splitlines() if ln]


def test_study_schedules_pipelines_retries_and_skips(cluster, tmp_path):
    from ncsweep.sweep.driver import RunOptions, run_study

    # the long stage 1 must outlast a fresh worker process (~4-7 s on 2 busy cores, no actor
    # reuse) plus the short trials, so its sibling's stage 2 has to start before it ends
    space = _write(tmp_path, _space(["SonyAIBORobotSurface1"], LONG, failing=True))
    storage = tmp_path / "st"
    counts = run_study(space, storage, RunOptions(tracking_uri="", max_failures=1))
    trials = _trials(storage)
    states = {k: t["state"] for k, t in trials.items()}

    # the always-failing stage 1 fails; its stage 2 is skipped with the reason; the rest is done
    failed = [k for k, s in states.items() if s == "failed"]
    assert len(failed) == 1 and failed[0].startswith("s1-SonyAIBORobotSurface1-vibcreg")
    skipped = [k for k, s in states.items() if s == "skipped"]
    assert len(skipped) == 1 and skipped[0].startswith("s2-SonyAIBORobotSurface1-vibcreg")
    assert failed[0] in trials[skipped[0]]["error"]
    assert sum(s == "done" for s in states.values()) == len(states) - 2
    assert counts["stage2"]["skipped"] == 1

    # the trial that crashed once was retried from its checkpoint, not from epoch 0
    retried = next(k for k in trials if k.startswith("s1-SonyAIBORobotSurface1-barlowtwins"))
    state = json.loads((storage / "trials" / retried / "state.json").read_text())
    assert state["attempts"] >= 2 and state["resumed_from_epoch"] >= 1
    assert _history_epochs(storage, retried) == list(range(1, LONG + 1))

    ran = [t for t in trials.values() if t["start"] and t["end"] and t["state"] == "done"]
    # never more GPU trials at once than GPUs (every trial asks for 1 of the 2)
    events = sorted([(t["start"], 1) for t in ran] + [(t["end"], -1) for t in ran])
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    assert peak <= 2
    # stage 2 starts after its own stage 1 and its evaluator end
    for t in ran:
        for dep in t["depends_on"]:
            assert t["start"] >= trials[dep]["end"]
    # pipelining: a stage-2 trial started before the last stage-1 trial ended
    last_s1 = max(t["end"] for t in ran if t["stage"] == "stage1")
    assert min(t["start"] for t in ran if t["stage"] == "stage2") < last_s1
    assert len({t["node"] for t in ran}) == 2  # both nodes got trials


def _driver(space: Path, storage: Path, address: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ncsweep", "run", str(space), "--storage", str(storage)]
    cmd += ["--address", address, "--no-tracking", "--max-failures", "0"]
    env = {**os.environ, "NCSWEEP_TEST_FAIL": ""}
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_killed_driver_relaunch_runs_nothing_twice_and_resumes(cluster, tmp_path):
    # 60 epochs: the long trial must still be running when the short one is done and the driver
    # is killed (at 15 it finished first on an idle machine)
    space = _write(tmp_path, _space(["SonyAIBORobotSurface1"], KILLED_LONG, stage2=False))
    storage = tmp_path / "st"
    long_key = None
    proc = _driver(space, storage, cluster.address)
    deadline = time.time() + 240
    while time.time() < deadline:
        trials = _trials(storage) if (storage / "plan.json").is_file() else {}
        long_key = next((k for k in trials if "barlowtwins" in k), None)
        short_done = any(t["state"] == "done" for t in trials.values())
        if short_done and long_key and len(_history_epochs(storage, long_key)) >= 2:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert long_key and short_done, "the study never got going"
    before = _trials(storage)
    done_before = {k: t["attempts"] for k, t in before.items() if t["state"] == "done"}
    assert done_before and long_key not in done_before
    # `status` sees that the driver is gone: its running trial is "interrupted", not "running"
    shown = subprocess.run(
        [sys.executable, "-m", "ncsweep", "status", str(storage), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(shown.stdout)
    assert report["driver"]["state"] == "lost" and report["driver"]["pid"] == proc.pid
    shown_states = {t["key"]: t["state"] for t in report["trials"]}
    assert shown_states[long_key] == "interrupted"
    assert "running" not in shown_states.values()
    time.sleep(3)  # Ray kills the dead driver's trial actors

    relaunch = _driver(space, storage, cluster.address)
    out, _ = relaunch.communicate(timeout=400)
    assert relaunch.returncode == 0, out
    after = _trials(storage)
    assert all(t["state"] == "done" for t in after.values()), after
    for key, attempts in done_before.items():
        assert after[key]["attempts"] == attempts  # finished trials never ran again
    state = json.loads((storage / "trials" / long_key / "state.json").read_text())
    assert state["resumed_from_epoch"] >= 1  # from its checkpoint, not epoch 0
    assert _history_epochs(storage, long_key) == list(range(1, KILLED_LONG + 1))
    assert json.loads((storage / "driver.json").read_text())["state"] == "finished"
