"""Fault cases of the study ledger and searcher (issue 13 §1, §2, §5), driven by hand: NaN
results are not done, one unwritable trial directory fails that trial only, a finished
checkpoint that changed is caught before a later stage loads it."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("ray.tune")

from ray.tune.search import Searcher  # noqa: E402

from ncsweep.stages import STAGES  # noqa: E402
from ncsweep.study import expand, parse_space  # noqa: E402
from ncsweep.sweep.ledger import Ledger, stage_of  # noqa: E402
from ncsweep.sweep.searcher import DependencySearcher  # noqa: E402

SPACE = {
    "study": "faults",
    "evaluator": {"config": {"epochs": 1}},
    "stage1": {
        "config": {"optim": {"epochs": 1}},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0, 1], "variants": [{"ssl": "none"}]},
    },
    "stage2": {"config": {"optim": {"epochs": 1}}},
}


def _plan():
    return [t.to_dict() for t in expand(parse_space(SPACE))]


def _leave_results(ledger: Ledger, key: str, **changes) -> None:
    metrics = dict.fromkeys(STAGES[stage_of(key)].final_metrics, 0.5) | changes
    ledger.trial_dir(key).mkdir(parents=True, exist_ok=True)
    (ledger.trial_dir(key) / "metrics.json").write_text(json.dumps(metrics))
    ledger.mark_done(key)


def test_nan_or_missing_promised_metric_is_not_done(tmp_path):
    ledger = Ledger(tmp_path)
    s2 = next(t["key"] for t in _plan() if t["stage"] == "stage2")
    _leave_results(ledger, s2, fid=math.nan)  # what a kill in the scoring window used to leave
    assert not ledger.is_done(s2) and "fid" in ledger.incomplete(s2)
    _leave_results(ledger, s2, fid=1.5)
    assert ledger.is_done(s2)


def test_one_unwritable_trial_dir_fails_that_trial_only(tmp_path):
    ledger = Ledger(tmp_path)
    plan = _plan()
    searcher = DependencySearcher(plan, ledger, lambda t: {"key": t.key})
    handed = {}
    while (cfg := searcher.suggest(f"t{len(handed)}")) not in (None, Searcher.FINISHED):
        handed[f"t{len(handed)}"] = cfg["key"]
    bad = next(k for k in handed.values() if k.startswith("s1"))
    # root ignores permission bits: a plain file where the trial's directory should be
    ledger.trial_dir(bad).parent.mkdir(parents=True, exist_ok=True)
    ledger.trial_dir(bad).write_text("in the way")
    for tid, key in handed.items():
        if key == bad:
            searcher.on_trial_complete(tid, error=True)  # used to raise inside Tune: study over
        else:
            _leave_results(ledger, key)
            searcher.on_trial_complete(tid)
    state = ledger.read(bad)
    assert state["state"] == "failed" and "unwritable" in state["error"]
    assert searcher.status[bad] == "failed"
    good_s2 = [t["key"] for t in plan if t["stage"] == "stage2" and bad not in t["depends_on"]]
    assert [searcher.suggest("u")["key"]] == good_s2  # the rest of the study goes on
    skipped = [t["key"] for t in plan if bad in t["depends_on"]]
    assert all(ledger.state(k) == "skipped" for k in skipped)
    # once the path is fixed, resume reruns the failed trial and its dependents
    ledger.trial_dir(bad).unlink()
    again = DependencySearcher(plan, ledger, lambda t: {"key": t.key})
    assert again.status[bad] == "pending" and ledger.state(bad) == "pending"


def test_changed_stage1_checkpoint_is_caught_before_stage2_loads_it(tmp_path):
    ledger = Ledger(tmp_path)
    plan = _plan()
    for t in plan:
        if t["stage"] != "stage2":
            _leave_results(ledger, t["key"])
            (ledger.trial_dir(t["key"]) / "checkpoint.pt").write_bytes(b"x" * 1000)
            ledger.record_checkpoint(t["key"])
    s1 = next(t["key"] for t in plan if t["stage"] == "stage1")
    ckpt = ledger.trial_dir(s1) / "checkpoint.pt"
    ckpt.write_bytes(b"y" * 1000)  # same size, other bytes: only the hash tells
    assert ledger.verify_checkpoint(s1)
    searcher = DependencySearcher(plan, ledger, lambda t: {"key": t.key})
    assert searcher.status[s1] == "pending"  # retrained before its stage 2 runs
    assert not ckpt.exists() and ckpt.with_name("checkpoint.pt.corrupt").is_file()
    truncated = next(t["key"] for t in plan if t["stage"] == "stage1" and t["key"] != s1)
    (ledger.trial_dir(truncated) / "checkpoint.pt").write_bytes(b"x" * 10)
    assert not ledger.is_done(truncated)  # the size check: cheap, on every read
