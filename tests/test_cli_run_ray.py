"""One tiny real study through the ``ncsweep run`` command (issue 14 §2, §5, §8): stdout stays
clean (no Tune box or TensorBoard hint), running trials report epoch/total, a trial failing on
bad data fails once without retries or tracebacks and the driver prints why, so does a trial
whose directory cannot be made (issue 13 §2), finished work is kept, and every metric reaches MLflow under one name with the commit in MLflow's own tag."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray.tune")
pytestmark = [pytest.mark.ray, pytest.mark.slow]

SPACE = {
    "study": "tinyray",
    "defaults": {"run": {"device": "cpu", "num_threads": 1}},
    "stage1": {
        "config": {
            "optim": {"epochs": 3, "batch_size": 32},
            "ssl": {"proj_hidden": 32, "proj_out": 32, "iternorm_groups": 8},
            "run": {"eval_every": 100, "checkpoint_every": 1},
        },
        "resources": {"gpu": 0, "cpu": 1},
        "epochs_per_step": 1,
        "grid": {
            "dataset": ["SonyAIBORobotSurface1"],
            "seed": [0, 1, 2],
            "variants": [{"ssl": "none"}],
        },
    },
    "stage2": None,
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    space = tmp / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    from ncsweep.study import expand, parse_space

    # seed 2's trial directory cannot be made: a plain file stands where it should be (root
    # ignores permission bits, so this is the unwritable directory every user can reproduce)
    blocked = next(t.key for t in expand(parse_space(SPACE)) if "seed2" in t.key)
    (tmp / "st" / "trials").mkdir(parents=True)
    (tmp / "st" / "trials" / blocked).write_text("in the way")
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "NCSWEEP_PROGRESS_S": "1",
        "NCSWEEP_TEST_FAIL": "seed1@1:data",  # a DataError after 1 epoch: bad input, not a crash
    }
    ncsweep = [sys.executable, "-c", "from ncsweep.cli import main; main()"]
    cmd = [*ncsweep, "run", str(space), "--storage", str(tmp / "st")]
    proc = subprocess.run(
        [*cmd, "--num-cpus", "1", "--max-failures", "2"],
        capture_output=True, text=True, env=env, timeout=400, cwd=tmp,
    )  # fmt: skip
    return tmp / "st", proc


def _trials(storage: Path) -> dict[str, dict]:
    from ncsweep.sweep.ledger import Ledger

    return {f"seed{k}": t for t in Ledger(storage).trials() for k in (0, 1, 2) if f"seed{k}" in t["key"]}


def test_exit_code_and_a_clean_stdout(study):
    _, proc = study
    assert proc.returncode == 1, proc.stderr[-3000:]  # two trials failed
    assert "2 trial(s) failed or were skipped" in proc.stderr
    for noise in ("Number of trials", "TensorBoard", "tensorboard", "View detailed results"):
        assert noise not in proc.stdout and noise not in proc.stderr
    at = max(proc.stderr.find("Traceback"), proc.stderr.find("SystemExit"))
    assert at < 0, proc.stderr[max(0, at - 500) : at + 2500]


def test_progress_lines_show_epoch_over_total(study):
    _, proc = study
    assert any("s1-" in ln and "/3" in ln and "epoch" in ln for ln in proc.stderr.splitlines())


def test_bad_data_fails_once_and_the_driver_says_why(study):
    storage, proc = study
    trials = _trials(storage)
    assert trials["seed1"]["state"] == "failed" and trials["seed1"]["attempts"] == 1
    assert "DataError: NCSWEEP_TEST_FAIL" in trials["seed1"]["error"]
    said = [ln for ln in proc.stderr.splitlines() if "FAILED" in ln and "seed1" in ln]
    assert len(said) == 1 and "not retried" in said[0] and "DataError" in said[0]
    assert "retrying" not in proc.stderr
    assert trials["seed0"]["state"] == "done"  # the other trial's work is kept
    ok = storage / "trials" / trials["seed0"]["key"] / "metrics.json"
    assert json.loads(ok.read_text())["epochs"] == 3


def test_unmakeable_trial_dir_fails_that_trial_once_and_the_rest_goes_on(study):
    storage, proc = study
    trials = _trials(storage)
    assert trials["seed2"]["state"] == "failed" and "in the way" not in trials["seed2"]["error"]
    assert "FileExistsError" in trials["seed2"]["error"] and trials["seed2"]["key"] in trials["seed2"]["error"]
    said = [ln for ln in proc.stderr.splitlines() if "FAILED" in ln and "seed2" in ln]
    assert len(said) == 1 and "not retried" in said[0], said
    assert trials["seed0"]["state"] == "done"


def test_status_text_after_the_run(study):
    from click.testing import CliRunner

    from ncsweep.cli import main

    storage, _ = study
    out = CliRunner().invoke(main, ["status", str(storage)]).output
    done = [ln for ln in out.splitlines() if "seed0" in ln][0]
    assert "3/3" in done and "node " in done and "start " in done and "end " in done
    failed = [ln for ln in out.splitlines() if "seed1" in ln][0]
    assert failed.split()[0] == "failed" and "1/3" in failed and "DataError" in failed


def test_mlflow_gets_each_metric_once_and_the_commit_tag(study):
    mlflow = pytest.importorskip("mlflow")
    storage, _ = study
    client = mlflow.MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tinyray")
    runs = client.search_runs([exp.experiment_id], "tags.`ncsweep.seed` = '0'")
    assert len(runs) == 1
    names = set(runs[0].data.metrics)
    assert "train/total" in names and "val_recon" in names
    assert not {n for n in names if n.startswith("train_")}  # no second name for train/<term>
    if (Path(__file__).resolve().parents[1] / ".git").exists():
        assert len(runs[0].data.tags.get("mlflow.source.git.commit", "")) == 40
        assert "ncsweep.git_commit" not in runs[0].data.tags
