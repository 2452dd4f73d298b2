"""``ncsweep sync`` (issue 13 §3, §4): a study's runs rebuilt from its storage directory into a
real SQLite MLflow store; idempotent; a partly tracked study gets only what it lacks; a corrupt
mlflow.db is one clear error naming the file and the way out."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("mlflow")

from ncsweep.cli import main  # noqa: E402
from ncsweep.stages import STAGES  # noqa: E402
from ncsweep.study import expand, parse_space  # noqa: E402
from ncsweep.sweep.ledger import Ledger  # noqa: E402
from ncsweep.tracking import client as C  # noqa: E402
from ncsweep.tracking import tags as T  # noqa: E402
from ncsweep.tracking.sync import sync_study  # noqa: E402

SPACE = {
    "study": "synctest",
    "evaluator": {"config": {"epochs": 1}},
    "stage1": {
        "config": {"optim": {"epochs": 3}},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0, 1], "variants": [{"ssl": "none"}]},
    },
    "stage2": {"config": {"optim": {"epochs": 2}}},
}


def _storage(tmp_path):
    """A study's storage as a driver with its store down leaves it: every result on disk, the
    last stage-2 trial interrupted after one epoch."""
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "study.yaml").write_text(yaml.safe_dump(SPACE))
    trials = expand(parse_space(SPACE))
    plan = [t.to_dict() | {"epochs": t.epochs} for t in trials]
    ledger = Ledger(storage)
    ledger.save_study(storage / "study.yaml", plan)
    running = [t["key"] for t in plan if t["stage"] == "stage2"][-1]
    for t in plan:
        out = ledger.trial_dir(t["key"])
        out.mkdir(parents=True)
        (out / "config.yaml").write_text(yaml.safe_dump(t["config"]))
        epochs = 1 if t["key"] == running else t["epochs"]
        lines = [{"epoch": e, "val/recon": 1.0 / e, "seconds": e} for e in range(1, epochs + 1)]
        (out / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in lines))
        if t["key"] == running:
            ledger.mark_running(t["key"])
            continue
        metrics = dict.fromkeys(STAGES[t["stage"]].final_metrics, 0.25)
        (out / "metrics.json").write_text(json.dumps(metrics))
        ledger.update(t["key"], tracked=False)
        ledger.mark_done(t["key"])
    return storage, plan, running


def _runs(uri):
    client = C.make_client(uri)
    exp = client.get_experiment_by_name("synctest")
    return client, {r.data.tags.get(T.TRIAL_KEY, "parent"): r for r in client.search_runs([exp.experiment_id])}


def test_sync_builds_the_study_then_adds_nothing(tmp_path):
    storage, plan, running = _storage(tmp_path)
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    first = sync_study(storage, uri, figures=False)
    assert first.runs_created == len(plan)
    client, runs = _runs(uri)
    assert set(runs) == {t["key"] for t in plan} | {"parent"}
    for t in plan:
        run = runs[t["key"]]
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val/recon")]
        assert steps == list(range(1, (1 if t["key"] == running else t["epochs"]) + 1))
        if t["key"] == running:
            assert run.info.status == "KILLED"  # no live driver: not left RUNNING (§6)
            continue
        assert run.info.status == "FINISHED"
        assert all(run.data.metrics[k] == 0.25 for k in STAGES[t["stage"]].final_metrics)
        assert run.data.tags[T.PARENT_RUN_ID] == runs["parent"].info.run_id
        assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"metrics.json"}
        assert Ledger(storage).read(t["key"])["tracked"] is True
    s2 = next(t for t in plan if t["stage"] == "stage2" and t["key"] != running)
    s1_run = runs[s2["depends_on"][0]].info.run_id
    assert runs[s2["key"]].data.tags[T.STAGE1_RUN_ID] == s1_run
    again = sync_study(storage, uri, figures=False)
    assert again.added == 0 and again.up_to_date == len(plan)


def test_partly_tracked_study_gets_only_what_it_lacks(tmp_path):
    storage, plan, running = _storage(tmp_path)
    uri = f"sqlite:///{tmp_path / 'part.db'}"
    sync_study(storage, uri, figures=False)
    client, runs = _runs(uri)
    s1 = next(t for t in plan if t["stage"] == "stage1")
    out = Ledger(storage).trial_dir(s1["key"])
    more = [{"epoch": 4, "val/recon": 0.2, "seconds": 4.0}]  # the trial went on meanwhile
    with open(out / "history.jsonl", "a") as fh:
        fh.write(json.dumps(more[0]) + "\n")
    report = sync_study(storage, uri, figures=False)
    assert report.runs_created == 0 and report.runs_completed == 1
    assert report.metrics == 3  # one epoch line: epoch, val/recon, seconds
    steps = [m.step for m in client.get_metric_history(runs[s1["key"]].info.run_id, "val/recon")]
    assert steps == [1, 2, 3, 4]  # nothing twice


def test_corrupt_store_is_one_clear_error_and_sync_rebuilds(tmp_path):
    storage, plan, _ = _storage(tmp_path)
    (storage / "mlflow.db").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4096)
    result = CliRunner().invoke(main, ["tables", str(storage), "--out", str(tmp_path / "t")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert str(storage / "mlflow.db") in result.output and "is corrupt" in result.output
    assert f"ncsweep sync {storage} --tracking-uri" in result.output
    new = tmp_path / "rebuilt.db"
    result = CliRunner().invoke(
        main, ["sync", str(storage), "--tracking-uri", f"sqlite:///{new}", "--no-figures", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(plan)} runs created" in result.output


def test_driver_completes_a_run_left_running_after_its_trial_was_done(tmp_path):
    """The kill between a trial's done and its run's close (benchmarks/faults.py 'done')."""
    from ncsweep.sweep.tracking_hook import complete_untracked, untracked_trials

    storage, plan, running = _storage(tmp_path)
    uri = f"sqlite:///{tmp_path / 'drv.db'}"
    sync_study(storage, uri, figures=False)
    client, runs = _runs(uri)
    key = next(t["key"] for t in plan if t["stage"] == "stage1")
    client.update_run(runs[key].info.run_id, status="RUNNING")
    ledger = Ledger(storage)
    ledger.update(key, tracked=False)
    assert untracked_trials(ledger, [t["key"] for t in plan]) == [key]
    complete_untracked(ledger, [key], {"uri": uri, "reachable": True})
    assert client.get_run(runs[key].info.run_id).info.status == "FINISHED"
    assert untracked_trials(ledger, [t["key"] for t in plan]) == []


def test_relaunch_of_a_finished_study_completes_its_untracked_runs(tmp_path):
    """Every trial done, none in the store (the outage ended after the last trial): ``run`` has
    nothing to train but still fills MLflow in, without starting Ray."""
    import io

    from ncsweep.sweep.driver import RunOptions, run_study
    from ncsweep.sweep.tracking_hook import untracked_trials

    storage, plan, running = _storage(tmp_path)
    out = Ledger(storage).trial_dir(running)
    (out / "metrics.json").write_text(json.dumps(dict.fromkeys(STAGES["stage2"].final_metrics, 0.5)))
    Ledger(storage).update(running, tracked=False)
    Ledger(storage).mark_done(running)
    uri = f"sqlite:///{tmp_path / 'late.db'}"
    stream = io.StringIO()
    counts = run_study(storage / "study.yaml", storage, RunOptions(tracking_uri=uri), stream)
    assert "already done" in stream.getvalue() and "not (fully) in the MLflow store" not in stream.getvalue()
    assert sum(c.get("done", 0) for c in counts.values()) == len(plan)
    _, runs = _runs(uri)
    assert set(runs) == {t["key"] for t in plan} | {"parent"}
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert untracked_trials(Ledger(storage), [t["key"] for t in plan]) == []
