"""The orchestrator benchmark's scheduling simulation (no Ray): bounds and the barrier."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("orch", ROOT / "benchmarks" / "orchestrator.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_list_schedule_respects_dependencies_and_gpus(bench):
    trials = [
        {"key": "a", "stage": "stage1", "depends_on": []},
        {"key": "b", "stage": "stage1", "depends_on": []},
        {"key": "s2a", "stage": "stage2", "depends_on": ["a"]},
    ]
    dur = {"a": 3.0, "b": 1.0, "s2a": 2.0}
    assert bench.list_schedule(trials, dur, 1, ["a", "b", "s2a"]) == 6.0  # serial
    assert bench.list_schedule(trials, dur, 2, ["a", "b", "s2a"]) == 5.0  # s2a waits for a
    assert bench.critical_path(trials, dur) == 5.0
    # the barrier holds s2a until b is done too: with b long, that costs time
    dur["b"] = 4.0
    assert bench.list_schedule(trials, dur, 2, ["a", "b", "s2a"]) == 5.0
    assert bench.barrier(trials, dur, 2, ["a", "b", "s2a"]) == 6.0


def test_policies_on_the_study_never_beat_the_lower_bound(bench):
    trials = bench.plan(3)  # the 3 smallest datasets of the main study
    for gpus in (2, 16, 64):
        dur = bench.durations(trials, gpus, 100.0, noise=0.25, seed=1)
        assert sum(dur.values()) == pytest.approx(100.0 * gpus)
        p = bench.policies(trials, dur, gpus)
        lb = p["lower_bound_s"]
        for name in ("ncsweep_s", "barrier_best_order_s", "barrier_grid_order_s"):
            assert p[name] >= lb * (1 - 1e-9), name
        assert p["ncsweep_s"] <= p["barrier_best_order_s"] <= p["barrier_grid_order_s"]
    # 64 GPUs, 57 trials: the critical path is the bound; ncsweep reaches it, the barrier cannot
    assert p["ncsweep_s"] == pytest.approx(lb)
    assert p["barrier_best_order_s"] > 1.1 * lb
