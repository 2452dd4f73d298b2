"""The FCN evaluator cache (spec §3): trained once, reused, safe under concurrent requests."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ncsweep
from ncsweep.config.stage2 import EvaluatorConfig
from ncsweep.data import load_ucr
from ncsweep.train.evaluator import accuracy, cache_key, fit_fcn, get_evaluator

DATASET = "SonyAIBORobotSurface1"


def subset(ds):
    """The real dataset with a 64-series test split: the FCN is big for a shared CPU."""
    return dataclasses.replace(ds, x_test=ds.x_test[:64], y_test=ds.y_test[:64])


@pytest.fixture(scope="module")
def ds():
    return subset(load_ucr(DATASET))


def tiny(tmp_path: Path, **changes) -> EvaluatorConfig:
    return EvaluatorConfig(epochs=2, batch_size=16, cache_dir=str(tmp_path), **changes)


def test_evaluator_is_trained_once_then_reused(ds, tmp_path):
    cfg = tiny(tmp_path)
    model1, info1 = get_evaluator(ds, cfg)
    model2, info2 = get_evaluator(ds, cfg)
    assert info1["trained"] and not info2["trained"]
    assert info1["path"] == info2["path"] and Path(info1["path"]).is_file()
    assert info1["test_acc"] == info2["test_acc"]
    assert 0.0 <= info1["test_acc"] <= 1.0
    for (k, a), b in zip(model1.state_dict().items(), model2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert accuracy(model2, ds.x_test, ds.y_test) == pytest.approx(info1["test_acc"])
    entry = torch.load(info1["path"], weights_only=False)
    assert entry["config"]["epochs"] == 2 and entry["dataset"] == DATASET


def test_cache_key_covers_config_and_seed_but_not_the_folder(ds, tmp_path):
    base = tiny(tmp_path)
    assert cache_key(ds, base) == cache_key(
        ds, EvaluatorConfig(epochs=2, batch_size=16, cache_dir="/x")
    )
    assert cache_key(ds, base) != cache_key(ds, tiny(tmp_path, seed=1))
    assert cache_key(ds, base) != cache_key(ds, tiny(tmp_path, lr=1e-2))
    assert cache_key(ds, base).startswith(DATASET)


def test_a_corrupt_cache_entry_is_retrained(ds, tmp_path):
    cfg = tiny(tmp_path)
    _, info = get_evaluator(ds, cfg)
    Path(info["path"]).write_bytes(b"not a checkpoint")
    _, again = get_evaluator(ds, cfg)
    assert again["trained"] and again["test_acc"] == info["test_acc"]  # seeded: same result
    assert not list(tmp_path.glob("*.tmp"))


def test_fit_fcn_is_seeded_and_learns_an_easy_problem():
    t = np.linspace(0, 2 * np.pi, 16)
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [np.sin(t) + 0.1 * rng.normal(size=(16, 16)), 0.1 * rng.normal(size=(16, 16))]
    )
    y = np.repeat([0, 1], 16)
    cfg = EvaluatorConfig(epochs=6, batch_size=32, lr=1e-2)
    a, b = fit_fcn(x, y, 2, cfg), fit_fcn(x, y, 2, cfg)
    assert torch.equal(a.fc.weight, b.fc.weight)
    assert accuracy(a, x, y) > 0.9


_WORKER = """
import dataclasses, json, sys
from ncsweep.config.stage2 import EvaluatorConfig
from ncsweep.data import load_ucr
from ncsweep.train.evaluator import get_evaluator
cfg = EvaluatorConfig(epochs=3, batch_size=16, cache_dir=sys.argv[1])
ds = load_ucr(sys.argv[2])
ds = dataclasses.replace(ds, x_test=ds.x_test[:64], y_test=ds.y_test[:64])
_, info = get_evaluator(ds, cfg)
print(json.dumps(info))
"""


def test_two_processes_asking_at_once_train_once(ds, tmp_path):
    root = str(Path(ncsweep.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path), DATASET],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    infos = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        infos.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(i["trained"] for i in infos) == [False, True]  # one trained, one reused
    assert infos[0]["test_acc"] == infos[1]["test_acc"]
    assert len(list(tmp_path.glob("*.pt"))) == 1 and not list(tmp_path.glob("*.tmp"))
    _, info = get_evaluator(ds, EvaluatorConfig(epochs=3, batch_size=16, cache_dir=str(tmp_path)))
    assert not info["trained"] and info["test_acc"] == infos[0]["test_acc"]


def test_train_evaluator_cli_trains_then_hits_the_cache(tmp_path):
    from click.testing import CliRunner

    from ncsweep.cli import main

    args = ["train", "evaluator", "--dataset", DATASET, "--epochs", "2", "--device", "cpu"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--batch-size", "64"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    made = json.loads(first.output.strip().splitlines()[-1])
    assert made["dataset"] == DATASET and made["trained"] is True
    assert 0.0 <= made["test_acc"] <= 1.0 and Path(made["path"]).is_file()
    assert "epoch 2/2" in first.output  # progress on stderr (mixed in by CliRunner)
    again = json.loads(CliRunner().invoke(main, args).output.strip().splitlines()[-1])
    assert again["trained"] is False and again["path"] == made["path"]
    assert again["test_acc"] == made["test_acc"]
    bad = CliRunner().invoke(main, ["train", "evaluator", "--dataset", "NoSuchSet"])
    assert bad.exit_code != 0 and "NoSuchSet" in bad.output


def test_the_cache_holds_the_real_features_fid_needs(ds, tmp_path, monkeypatch):
    """Issue 15: the test split's FCN features are computed once, when the entry is trained;
    a trial that reuses the entry gets them without another pass over the test split."""
    from ncsweep.train import evaluator as ev
    from ncsweep.train.evaluator import predict

    cfg = tiny(tmp_path)
    model, first = get_evaluator(ds, cfg)
    want = predict(model, ds.x_test)[0]
    assert model.test_features.shape == (len(ds.x_test), 128)
    np.testing.assert_allclose(model.test_features, want, rtol=1e-5, atol=1e-6)
    passes = []
    monkeypatch.setattr(ev, "predict", lambda *a, **k: passes.append(1) or predict(*a, **k))
    cached, again = get_evaluator(ds, cfg)
    assert first["trained"] and not again["trained"] and passes == []  # no test-split pass
    np.testing.assert_array_equal(cached.test_features, model.test_features)
    json.dumps(again)  # info stays plain JSON (the CLI prints it)
