"""Figures from a real MLflow store (written through MLflow's own API, as trials write it):
``ncsweep figures`` and ``tables --figures`` write index.json, thesis number → files; the
arrays trials log at their end (``arrays/<stage>.npz``) are read back for PCA and t-SNE; the
trial side logs them and never fails a trial over them. Also the trainers' ``arrays()``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from synthetic_study import arrays as fake_arrays

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

STUDY = "figs"
NUMBERS = ["6.7", "6.11", "6.16", "6.17", "6.21", "6.25"]
CELLS = [(ds, ssl, aug) for ds in ("ECG200", "Wafer")
         for ssl, aug in [("none", None), ("barlowtwins", "warp")]]  # fmt: skip


def _run(client, exp_id, parent, tags, history, final, arrays, tmp):
    run = client.create_run(exp_id, tags={"mlflow.parentRunId": parent, **tags})
    rid, now = run.info.run_id, int(time.time() * 1000)
    for step in range(1, 4):
        client.log_batch(rid, metrics=[Metric(k, v / step, now, step) for k, v in history.items()])
    client.log_batch(rid, metrics=[Metric(k, v, now + 1, 3) for k, v in final.items()])
    path = Path(tmp) / rid / f"{tags['ncsweep.stage']}.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, **arrays)
    client.log_artifact(rid, str(path), "arrays")
    client.set_terminated(rid, "FINISHED")
    return rid


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("figs_study")
    (storage / "study.yaml").write_text(f"study: {STUDY}\n")
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp_id = client.create_experiment(STUDY, artifact_location=(storage / "mlartifacts").as_uri())
    pid = client.create_run(exp_id, tags={"ncsweep.study": STUDY, "ncsweep.role": "parent"})
    pid = pid.info.run_id
    tmp = tmp_path_factory.mktemp("npz")
    for i, (ds, ssl, aug) in enumerate(CELLS):
        labels = {"ncsweep.dataset": ds, "ncsweep.ssl": ssl, "ncsweep.augmentation": aug or "none",
                  "ncsweep.seed": "0", **({"ncsweep.zeta": "0.2"} if ssl != "none" else {})}  # fmt: skip
        base = {"ncsweep.study": STUDY, "ncsweep.trial_key": f"s1-{i}", "ncsweep.stage": "stage1"}
        s1 = _run(client, exp_id, pid, {**base, **labels},
                  {"val/recon": 1.0, "train/ssl": 5.0 if ssl != "none" else 0.0},
                  {"val_recon": 0.1, "knn_acc": 0.7 + 0.1 * i, "svm_acc": 0.8,
                   "seconds": 10.0 + i, "n_params": 530_932.0},
                  fake_arrays([f"s1-{i}"], "stage1", n=20)[f"s1-{i}"], tmp)  # fmt: skip
        s2 = {"ncsweep.study": STUDY, "ncsweep.trial_key": f"s2-{i}", "ncsweep.stage": "stage2",
              "ncsweep.stage1_run_id": s1}  # fmt: skip
        _run(client, exp_id, pid, s2, {"val/prior_loss": 3.0},
             {"fid": 0.7669 + 0.005 * i, "is_mean": 1.0000025, "cas": 0.5},
             fake_arrays([f"s2-{i}"], "stage2", n=15, length=32)[f"s2-{i}"], tmp)  # fmt: skip
    return storage


def _index(folder: Path) -> dict:
    return json.loads((folder / "index.json").read_text(encoding="utf-8"))


def test_cli_figures_writes_the_index(store, tmp_path):
    from ncsweep.cli import main

    out = tmp_path / "f"
    res = CliRunner().invoke(main, ["figures", str(store), "--out", str(out), "--no-log"])
    assert res.exit_code == 0, res.output
    assert f"wrote {out / 'index.json'}" in res.output
    index = _index(out)
    assert list(index["figures"]) == NUMBERS  # every issue-11 figure, in thesis order
    for files in [*index["figures"].values(), *index["unnumbered"].values()]:
        assert files and all((out / f).stat().st_size > 1000 for f in files)
    assert sorted(index["figures"]["6.16"]) == sorted(
        f"pca_latents_{ds}.{ext}" for ds in ("ECG200", "Wafer") for ext in ("png", "pdf")
    )
    assert "bars_fid" in index["unnumbered"] and "6.8" not in index["figures"]  # no guessed number
    assert any("unnumbered" in n for n in index["notes"])


def test_tables_with_figures_writes_the_index_too(store, tmp_path):
    from ncsweep.cli import main

    out = tmp_path / "t"
    res = CliRunner().invoke(main, ["tables", str(store), "--out", str(out), "--no-log"])
    assert res.exit_code == 0, res.output
    assert list(_index(out / "figures")["figures"]) == NUMBERS


def test_run_arrays_reads_what_was_logged_and_skips_the_rest(store):
    from ncsweep.tracking import load_study
    from ncsweep.tracking.arrays import run_arrays

    uri = f"sqlite:///{store / 'mlflow.db'}"
    runs = load_study(uri, STUDY).runs
    s1 = list(runs[runs["stage"] == "stage1"]["run_id"])
    got = run_arrays(uri, [*s1, runs[runs["stage"] == "stage2"]["run_id"].iloc[0]], "stage1")
    assert sorted(got) == sorted(s1)  # the stage-2 run has no stage1.npz
    assert got[s1[0]]["latents"].shape == (20, 16) and got[s1[0]]["labels"].shape == (20,)


class _Tracker:
    run_id = "r"

    def __init__(self):
        self.logged: dict[str, dict] = {}

    def log_artifact(self, path, subdir=None):
        with np.load(path) as npz:
            self.logged[f"{subdir}/{Path(path).name}"] = {k: npz[k] for k in npz.files}


def test_trial_side_logs_arrays_and_survives_a_failing_trainer():
    from ncsweep.sweep.tracking_hook import TrialTracking

    class Trainer:
        stage = "stage2"

        def arrays(self):
            return {"generated": np.ones((3, 4)), "real": np.zeros((3, 4)), "labels": np.arange(3)}

    class Broken(Trainer):
        def arrays(self):
            raise RuntimeError("out of memory")

    hook = TrialTracking(_Tracker(), None, "k")
    hook._log_arrays(Trainer())
    assert set(hook.tracker.logged) == {"arrays/stage2.npz"}
    np.testing.assert_array_equal(hook.tracker.logged["arrays/stage2.npz"]["labels"], np.arange(3))
    with pytest.warns(UserWarning, match="arrays skipped"):
        TrialTracking(_Tracker(), None, "k")._log_arrays(Broken())


def test_stage1_trainer_arrays_are_test_latents_with_labels(tmp_path):
    from conftest import tiny_stage1

    from ncsweep.train.stage1 import Stage1Trainer

    trainer = Stage1Trainer(tiny_stage1("vibcreg", "warp"), tmp_path)
    out = trainer.arrays(n=7)
    assert out["latents"].shape[0] == 7 and out["latents"].dtype == np.float32
    np.testing.assert_array_equal(out["labels"], trainer.data.y_test[:7])
    assert trainer.final_metrics()["n_params"] == sum(p.numel() for p in trainer.model.parameters())
