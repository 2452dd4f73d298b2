"""The adaptive ζ search (issue 17 §2): the space format, the plan's budget, the searcher and
ASHA inside the dependency-aware run (driven by hand on a real ledger), and one tiny real study
on a local Ray cluster with MLflow (SQLite) that is then resumed."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from ncsweep.config import ConfigError
from ncsweep.study import load_study, parse_space
from ncsweep.study.adaptive import SEARCHER_LABEL, budget

ROOT = Path(__file__).resolve().parents[1]
DS = "SonyAIBORobotSurface1"

SPACE = {
    "study": "zs_test",
    "defaults": {"run": {"device": "cpu"}},
    "evaluator": {"config": {"epochs": 1}, "resources": {"gpu": 0, "cpu": 1}},
    "stage1": {
        "config": {
            "optim": {"epochs": 4, "batch_size": 32},
            "ssl": {"proj_hidden": 32, "proj_out": 32, "iternorm_groups": 8},
            "run": {"eval_every": 1, "checkpoint_every": 1},
        },
        "resources": {"gpu": 0, "cpu": 1},
        "epochs_per_step": 1,
        "grid": {
            "dataset": [DS],
            "seed": [0, 1],
            "variants": [{"ssl": "vibcreg", "augmentation": "warp"}],
        },
        "search": {
            "zeta": {"low": 0.01, "high": 0.5, "log": True},
            "trials": 3,
            "searcher": {"n_startup_trials": 2, "seed": 0},
            "scheduler": {"metric": "svm_acc", "mode": "max", "grace_period": 1,
                          "reduction_factor": 2},  # fmt: skip
        },
    },
    "stage2": {
        "config": {
            "optim": {"epochs": 1, "batch_size": 32},
            "prior": {"hidden": 32, "n_layers": 1, "head_dim": 16},
            "sampling": {"steps": 2, "batch_size": 64},
            "eval": {"cas_min_samples": 40, "cas_epochs": 1},
        },
        "resources": {"gpu": 0, "cpu": 1},
    },
}


def _space(**search):
    raw = copy.deepcopy(SPACE)
    raw["stage1"]["search"].update(search)
    return raw


# -- the format and the plan ---------------------------------------------------------------
def test_shipped_space_parses_to_a_budget_not_a_grid():
    space, trials = load_study(ROOT / "search_spaces" / "zeta_search.yaml")
    assert space.search is not None and not [t for t in trials if t.stage == "stage1"]
    b = budget(space)
    # the grid ablation's budget: 4 datasets x 2 SSL x 2 augmentations x (4 ζ x 2 seeds)
    assert b["groups"] == 16 and b["trials_per_group"] == 8 and b["max_trials"] == 128
    assert b["scheduler"]["rungs"] == [25, 75, 225] and b["scheduler"]["max_t"] == 250


def test_bad_search_sections_are_one_error_naming_each_key():
    raw = _space(zeta={"low": 0.5, "high": 0.1}, trials=0, bogus=1, max_concurrent=0)
    raw["stage1"]["search"]["scheduler"].update(mode="up", grace_period=3)
    raw["stage1"]["config"]["run"]["eval_every"] = 2
    raw["stage1"]["grid"]["variants"][0]["zeta"] = [0.1]
    with pytest.raises(ConfigError) as exc:
        parse_space(raw, "zs.yaml")
    text = str(exc.value)
    for part in ("stage1.search.bogus: unknown key", "stage1.search.trials", "low must be below",
                 "stage1.search.max_concurrent: expected an integer >= 1",
                 "scheduler.mode: expected min or max", "grace_period: 3 is not a multiple",
                 "zeta is searched", "zs.yaml"):  # fmt: skip
        assert part in text, part


def test_plan_shows_the_budget_and_rungs(tmp_path):
    from ncsweep.cli import main

    path = tmp_path / "zs.yaml"
    path.write_text(yaml.safe_dump(SPACE))
    res = CliRunner().invoke(main, ["plan", str(path)])
    assert res.exit_code == 0, res.output
    assert "at most 3 trials, 12 stage-1 epochs" in res.output
    assert "rungs at epochs 1, 2 of 4" in res.output
    assert "stage-1 trials per variant" not in res.output  # no grid to list
    as_json = json.loads(CliRunner().invoke(main, ["plan", str(path), "--json"]).output)
    assert as_json["search"]["max_trials"] == 3 and as_json["search"]["scheduler"]["rungs"] == [1, 2]


# -- the searcher and ASHA, driven by hand on a real ledger (no cluster) --------------------
def _searcher(tmp_path, **search):
    pytest.importorskip("ray.tune")
    from ncsweep.sweep.adaptive import make_search, searched_trials
    from ncsweep.sweep.driver import _config_maker
    from ncsweep.sweep.ledger import Ledger

    path = tmp_path / "zs.yaml"
    path.write_text(yaml.safe_dump(_space(**search)))
    space, trials = load_study(path)
    ledger = Ledger(tmp_path / "st")
    trials = searched_trials(space, trials, ledger)
    ledger.save_study(path, [t.to_dict() for t in trials])
    searcher, scheduler = make_search(space, trials, ledger, _config_maker(ledger, None))
    return space, ledger, searcher, scheduler


def _finish(ledger, key, svm):
    """What a finished trial leaves: every metric its stage promises, finite."""
    from ncsweep.stages import STAGES

    stage = next(t["stage"] for t in ledger.plan() if t["key"] == key)
    metrics = dict.fromkeys(STAGES[stage].final_metrics, 0.5) | {"svm_acc": svm}
    ledger.trial_dir(key).mkdir(parents=True, exist_ok=True)
    (ledger.trial_dir(key) / "metrics.json").write_text(json.dumps(metrics))
    ledger.mark_done(key)


def _history(ledger, key, svm):
    lines = [json.dumps({"epoch": e, "svm_acc": v, "seconds": e}) for e, v in enumerate(svm, 1)]
    (ledger.trial_dir(key) / "history.jsonl").write_text("\n".join(lines) + "\n")


def test_searcher_makes_trials_asha_stops_one_and_only_survivors_get_stage2(tmp_path):
    from ray.tune.schedulers import TrialScheduler
    from ray.tune.search import Searcher

    from ncsweep.sweep.adaptive import all_done, make_search

    space, ledger, searcher, asha = _searcher(tmp_path)
    ev = searcher.suggest("t0")  # the evaluator is known and ready: handed out first
    assert ev["trial"].stage == "evaluator"
    _finish(ledger, ev["key"], 1.0)
    searcher.on_trial_complete("t0", {})
    tune = {}
    for tid in ("t1", "t2"):
        cfg = searcher.suggest(tid)
        trial = cfg["trial"]
        assert trial.stage == "stage1" and trial.labels["searcher"] == SEARCHER_LABEL
        assert trial.config["ssl"]["zeta"] == trial.labels["zeta"]
        assert 0.01 <= trial.labels["zeta"] <= 0.5
        tune[tid] = SimpleNamespace(trial_id=tid, config=cfg)
        asha.on_trial_add(None, tune[tid])
    assert [tune[t].config["trial"].labels["seed"] for t in tune] == [0, 1]  # seeds cycled
    # rung at epoch 1: t1 sets the bar, t2 falls below it and is stopped
    go = asha.on_trial_result(None, tune["t1"], {"epoch": 1, "svm_acc": 0.9})
    stop = asha.on_trial_result(None, tune["t2"], {"epoch": 1, "svm_acc": 0.4})
    assert (go, stop) == (TrialScheduler.CONTINUE, TrialScheduler.STOP)
    searcher.on_trial_complete("t2", {"epoch": 1, "svm_acc": 0.4})
    k2 = tune["t2"].config["key"]
    st = ledger.read(k2)
    assert st["state"] == "skipped" and st["stopped_early"] == 1
    assert st["error"].startswith("stopped early by ASHA at epoch 1")
    # t1 finishes: its stage 2 is registered (plan.json too) and handed out before new stage 1
    k1 = tune["t1"].config["key"]
    _finish(ledger, k1, 0.95)
    searcher.on_trial_complete("t1", {"epoch": 4, "svm_acc": 0.95})
    s2 = searcher.suggest("t3")
    assert s2["trial"].stage == "stage2" and s2["trial"].depends_on == (k1, ev["key"])
    plan = {t["key"]: t for t in ledger.plan()}
    assert {k1, k2, s2["key"]} <= set(plan)
    assert not [t for t in plan.values() if t["stage"] == "stage2" and k2 in t["depends_on"]]
    # the last of the budget, then nothing new
    third = searcher.suggest("t4")["trial"]
    assert third.stage == "stage1" and searcher.made == {f"{DS}/vibcreg/warp": 3}
    assert searcher.suggest("t5") is None  # trials still run; the budget is spent
    # the driver dies here; a resume keeps the stopped trial stopped and spends no new budget
    _history(ledger, k1, [0.9, 0.9, 0.95, 0.95])
    _history(ledger, k2, [0.4])
    _, _, again, asha2 = _searcher(tmp_path)
    assert again.status[k2] == "skipped" and ledger.read(k2)["state"] == "skipped"
    assert again.made == {f"{DS}/vibcreg/warp": 3} and again.status[k1] == "done"
    # ASHA's bar carries over: the rerun third trial meets t1 and t2 at rung 1 (cutoff 0.65)
    rerun = SimpleNamespace(trial_id="r3", config={"key": third.key, "trial": third})
    asha2.on_trial_add(None, rerun)
    assert asha2.on_trial_result(None, rerun, {"epoch": 1, "svm_acc": 0.5}) == TrialScheduler.STOP
    assert not all_done(again)  # stage 2 and the third trial still to run
    for key in (s2["key"], third.key):
        _finish(ledger, key, 0.5)
    # a resume after the third trial finished (its stage 2 not yet made): it gets its stage 2
    trials = list(again.trials.values())
    again, _ = make_search(space, trials, ledger, lambda t: {"key": t.key, "trial": t})
    assert not all_done(again)
    last = again.suggest("t6")
    assert last["trial"].stage == "stage2" and last["trial"].depends_on[0] == third.key
    _finish(ledger, last["key"], 0.5)
    again.on_trial_complete("t6", {})
    assert all_done(again) and again.suggest("x") == Searcher.FINISHED


def test_max_concurrent_per_group_waits_for_a_result(tmp_path):
    _, ledger, searcher, _ = _searcher(tmp_path, max_concurrent=1)
    _finish(ledger, searcher.suggest("t0")["key"], 1.0)
    searcher.on_trial_complete("t0", {})
    first = searcher.suggest("t1")["key"]
    assert searcher.suggest("t2") is None  # one searched trial of the group at a time
    _finish(ledger, first, 0.8)
    searcher.on_trial_complete("t1", {})
    assert searcher.suggest("t3")["trial"].stage == "stage2"  # the survivor's stage 2 first
    assert searcher.suggest("t4")["trial"].stage == "stage1"  # then the next ζ


def test_a_failed_searched_trial_is_not_a_survivor(tmp_path):
    _, ledger, searcher, _ = _searcher(tmp_path)
    _finish(ledger, searcher.suggest("t0")["key"], 1.0)
    searcher.on_trial_complete("t0", {})
    key = searcher.suggest("t1")["key"]
    searcher.on_trial_complete("t1", None, error=True)
    assert ledger.state(key) == "failed" and not searcher.dependents[key]


# -- one real study: Ray + MLflow (SQLite), then a resume that runs nothing ----------------
@pytest.mark.ray
@pytest.mark.slow
def test_real_search_study_and_resume(tmp_path):
    pytest.importorskip("ray.tune")
    from ncsweep.sweep.driver import RunOptions, resume_study, run_study
    from ncsweep.sweep.ledger import Ledger
    from ncsweep.tracking.client import make_client

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    path = tmp_path / "zs.yaml"
    path.write_text(yaml.safe_dump(SPACE))
    storage = tmp_path / "st"
    opts = RunOptions(num_cpus=2, num_gpus=0, max_concurrent=1, reuse_actors=True)
    counts = run_study(path, storage, opts)
    ledger = Ledger(storage)
    trials = ledger.trials()
    s1 = [t for t in trials if t["stage"] == "stage1"]
    s2 = [t for t in trials if t["stage"] == "stage2"]
    assert len(s1) == 3 and all(t["labels"]["searcher"] == SEARCHER_LABEL for t in s1)
    survivors = {t["key"] for t in s1 if t["state"] == "done"}
    stopped = [t for t in s1 if t["state"] == "skipped"]
    assert survivors and len(survivors) + len(stopped) == 3
    assert all(t["error"].startswith("stopped early by ASHA") for t in stopped)
    assert {t["depends_on"][0] for t in s2} == survivors  # a stage 2 for survivors only
    assert all(t["state"] == "done" for t in s2)
    assert counts["stage1"]["done"] == len(survivors)
    # the searcher's choices are the trial runs' params and tags
    client = make_client(f"sqlite:///{storage / 'mlflow.db'}")
    exp = client.get_experiment_by_name("zs_test")
    runs = {r.data.tags["ncsweep.trial_key"]: r for r in client.search_runs([exp.experiment_id])
            if "ncsweep.trial_key" in r.data.tags}  # fmt: skip
    for t in s1:
        run = runs[t["key"]]
        assert float(run.data.params["ssl.zeta"]) == t["labels"]["zeta"]
        assert run.data.tags["ncsweep.searcher"] == SEARCHER_LABEL
        assert float(run.data.tags["ncsweep.zeta"]) == t["labels"]["zeta"]
    for t in stopped:
        assert runs[t["key"]].data.tags["ncsweep.stopped_early"] == str(
            ledger.read(t["key"])["stopped_early"]
        )
    from ncsweep.cli import main

    status = CliRunner().invoke(main, ["status", str(storage)])
    assert status.exit_code == 0, status.output
    for t in stopped:  # the reason, where a user looks
        assert f"({ledger.read(t['key'])['error']})" in status.output
    # what the search chose, beside the trials and on the parent run
    log = json.loads((storage / "search.json").read_text())["groups"][f"{DS}/vibcreg/warp"]
    assert len(log["trials"]) == 3 and log["best"]["key"] in survivors
    parent = client.search_runs([exp.experiment_id], "tags.`ncsweep.role` = 'parent'")[0]
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "search")}
    assert logged == {"search/search.md", "search/search.json"}
    attempts = {t["key"]: t["attempts"] for t in trials}
    resume_study(storage, opts)  # nothing left: no trial runs again, no new trial is made
    after = Ledger(storage).trials()
    assert {t["key"]: t["attempts"] for t in after} == attempts
    assert [t["state"] for t in after] == [t["state"] for t in trials]


def test_plan_prices_the_worst_case_like_the_same_grid(tmp_path):
    """With measured timings: the search's hours if no trial stops = the grid of as many trials."""
    from ncsweep.study import summarize
    from ncsweep.study.timings import load_timings

    timings = load_timings(ROOT / "benchmarks" / "timings" / "cpu-example.json")
    raw = copy.deepcopy(SPACE)
    for stage in ("stage1", "stage2"):  # GPU-hours count trials that hold a GPU
        raw[stage]["resources"] = {"gpu": 1, "cpu": 1}
    grid = copy.deepcopy(raw)
    del grid["stage1"]["search"]
    grid["stage1"]["grid"]["seed"] = [0]
    grid["stage1"]["grid"]["variants"][0]["zeta"] = [0.1, 0.2, 0.3]  # 3 trials, as the budget
    for space_raw, name in ((raw, "search"), (grid, "grid")):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(space_raw))
    space, trials = load_study(tmp_path / "search.yaml")
    gspace, gtrials = load_study(tmp_path / "grid.yaml")
    search = summarize(space, trials, timings=timings)["search"]["max_gpu_hours"]
    hours = summarize(gspace, gtrials, timings=timings)["gpu_hours"]
    assert search is not None and search > 0
    assert search == pytest.approx(hours["stage1"] + hours["stage2"])
