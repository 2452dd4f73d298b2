"""The dependency-aware searcher, driven by hand (no cluster): order, waiting, skips, restore."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray.tune")

from ray.tune.search import Searcher  # noqa: E402

from ncsweep.stages import STAGES  # noqa: E402
from ncsweep.study import expand, parse_space  # noqa: E402
from ncsweep.sweep.ledger import Ledger  # noqa: E402
from ncsweep.sweep.searcher import DependencySearcher  # noqa: E402

SPACE = {
    "study": "s",
    "evaluator": {"config": {"epochs": 2}},
    "stage1": {
        "config": {"optim": {"epochs": 2}},
        "grid": {
            "dataset": ["SonyAIBORobotSurface1"],
            "seed": [0],
            "variants": [{"ssl": "none"}, {"ssl": "vibcreg", "augmentation": "warp"}],
        },
    },
    "stage2": {"config": {"optim": {"epochs": 1}}},
}


def _plan():
    return [t.to_dict() for t in expand(parse_space(SPACE))]


def _promised(key: str) -> dict:
    """Every metric the trial's stage promises, finite: what a finished trial leaves."""
    from ncsweep.sweep.ledger import stage_of

    return dict.fromkeys(STAGES[stage_of(key)].final_metrics, 0.5)


def _finish(searcher: DependencySearcher, ledger: Ledger, trial_id: str, ok: bool = True):
    key = searcher.live[trial_id]
    if ok:
        (ledger.trial_dir(key)).mkdir(parents=True, exist_ok=True)
        (ledger.trial_dir(key) / "metrics.json").write_text(json.dumps(_promised(key)))
        ledger.mark_done(key)
    else:
        ledger.update(key, error="boom")
    searcher.on_trial_complete(trial_id, error=not ok)
    return key


def test_dependencies_gate_stage2_and_the_study_finishes(tmp_path):
    ledger = Ledger(tmp_path)
    searcher = DependencySearcher(_plan(), ledger, lambda t: {"key": t["key"]})
    first = [searcher.suggest(f"t{i}") for i in range(3)]
    assert {c["key"][:2] for c in first} == {"ev", "s1"}  # nothing of stage 2 is ready yet
    assert searcher.suggest("t3") is None  # stage 2 waits on running trials
    for i in range(3):
        _finish(searcher, ledger, f"t{i}")
    rest = [searcher.suggest(f"u{i}") for i in range(2)]
    assert {c["key"][:2] for c in rest} == {"s2"}
    assert searcher.suggest("u2") is None
    for i in range(2):
        _finish(searcher, ledger, f"u{i}")
    assert searcher.suggest("v") == Searcher.FINISHED


def test_failure_skips_dependents_with_reason(tmp_path):
    ledger = Ledger(tmp_path)
    searcher = DependencySearcher(_plan(), ledger, lambda t: {"key": t["key"]})
    ids = [f"t{i}" for i in range(3)]
    keys = [searcher.suggest(i)["key"] for i in ids]
    ev_id = ids[[k.startswith("ev") for k in keys].index(True)]
    _finish(searcher, ledger, ev_id, ok=False)
    skipped = [k for k, s in searcher.status.items() if s == "skipped"]
    assert len(skipped) == 2 and all(k.startswith("s2") for k in skipped)
    assert "failed: boom" in ledger.read(skipped[0])["error"]
    for i in ids:
        if i != ev_id:
            _finish(searcher, ledger, i)
    assert searcher.suggest("x") == Searcher.FINISHED
    assert searcher.counts()["stage2"]["skipped"] == 2


def test_done_trials_in_the_ledger_are_never_suggested_again(tmp_path):
    ledger = Ledger(tmp_path)
    plan = _plan()
    searcher = DependencySearcher(plan, ledger, lambda t: {"key": t["key"]})
    done = _finish(searcher, ledger, "a") if searcher.suggest("a") else None
    again = DependencySearcher(plan, ledger, lambda t: {"key": t["key"]})
    suggested = []
    while (c := again.suggest(f"id{len(suggested)}")) not in (None, Searcher.FINISHED):
        suggested.append(c["key"])
    assert done not in suggested and len(suggested) == 2


def test_save_and_restore_round_trip(tmp_path):
    ledger = Ledger(tmp_path)
    plan = _plan()
    searcher = DependencySearcher(plan, ledger, lambda t: {"key": t["key"]})
    searcher.suggest("a")
    key = _finish(searcher, ledger, "a")
    searcher.suggest("b")
    searcher.save(str(tmp_path / "s.pkl"))
    fresh = DependencySearcher(plan, ledger, lambda t: {"key": t["key"]})
    fresh.restore(str(tmp_path / "s.pkl"))
    assert fresh.status[key] == "done"
    assert list(fresh.status.values()).count("running") == 0  # the running one runs again
