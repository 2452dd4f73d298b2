"""Stage 2 end to end on real bundled data: stage 1 → evaluator → prior → IS/FID/CAS, the CLI,
resume, and clear errors for bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import tiny_stage1

from ncsweep.cli import main
from ncsweep.config import ConfigError, Stage2Config, deep_merge, from_dict
from ncsweep.train.common import CheckpointError
from ncsweep.train.stage1 import run_stage1
from ncsweep.train.stage2 import Stage2Trainer, load_stage2_model

FINAL_KEYS = ("val_prior_loss", "fid", "is_mean", "is_std", "cas", "evaluator_acc", "seconds")


def tiny_stage2_dict(cache: str) -> dict:
    """A Stage2Config mapping whose whole run (evaluation included) takes seconds on a CPU."""
    return {
        "prior": {"hidden": 32, "n_layers": 1, "n_heads": 2, "head_dim": 8},
        "optim": {"epochs": 2, "batch_size": 8},
        "sampling": {"steps": 4},
        "evaluator": {"epochs": 2, "batch_size": 16, "cache_dir": cache},
        "eval": {"n_fid": 40, "is_splits": 2, "cas_min_samples": 30, "cas_epochs": 2},
        "run": {"device": "cpu", "checkpoint_every": 1},
    }


def tiny_stage2(stage1, cache, **changes) -> Stage2Config:
    return from_dict(
        Stage2Config, deep_merge({**tiny_stage2_dict(str(cache)), "stage1": str(stage1)}, changes)
    )


@pytest.fixture(scope="module")
def stage1_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("s1")
    cfg = tiny_stage1("barlowtwins", "gauss", optim={"epochs": 1}, run={"eval_every": 0})
    run_stage1(cfg, out)
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("evaluators")


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_cli_train_then_sample(stage1_dir, cache, tmp_path):
    cfg_file = tmp_path / "smoke.yaml"
    cfg_file.write_text(yaml.safe_dump(tiny_stage2_dict(str(cache))))
    out = tmp_path / "s2"
    args = ["train", "stage2", "--stage1", str(stage1_dir), "--epochs", "2", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--config", str(cfg_file)])
    assert result.exit_code == 0, result.output
    final = last_json(result.stdout)
    for key in FINAL_KEYS:
        assert math.isfinite(final[key]), key
    assert final["epochs"] == 2 and 0 <= final["cas"] <= 1 and 0 <= final["evaluator_acc"] <= 1
    assert 1.0 <= final["is_mean"] <= 2.0 and final["fid"] >= 0
    assert "epoch 2/2" in result.stderr
    assert json.loads((out / "metrics.json").read_text()) == pytest.approx(final)
    history = [json.loads(ln) for ln in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2]
    # validation on probe epochs and the last only (run.val_every unset, eval_every 50)
    assert [h["validated"] for h in history] == [0.0, 1.0]
    assert "val/prior_loss" not in history[0] and "train/prior_loss" in history[0]
    assert {"train/prior_loss", "val/prior_loss", "val/token_acc"} <= set(history[1])
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    assert (out / ckpt["stage1"]).resolve() == stage1_dir.resolve()  # relative (issue 13 §5)
    assert ckpt["stage1_dataset"] == "SonyAIBORobotSurface1"

    npy = tmp_path / "samples.npy"
    args = ["sample", "--stage2", str(out), "--n", "6", "--class", "1", "--out", str(npy)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    x = np.load(npy)
    assert x.shape == (6, 70) and np.isfinite(x).all()
    assert npy.with_suffix(".png").stat().st_size > 0
    # the .npy is in the original data scale: x·std + mean
    _, _, _, meta = load_stage2_model(out)
    assert abs(x.mean() - meta["mean"]) < 5 * meta["std"]

    args = ["sample", "--stage2", str(out), "--n", "4", "--out", str(tmp_path / "u.npy")]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert np.load(tmp_path / "u.npy").shape == (4, 70)

    args = ["sample", "--stage2", str(out), "--n", "2", "--class", "2", "--out", str(npy)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "out of range" in result.output and "0..1" in result.output


def test_resume_equals_uninterrupted(stage1_dir, cache, tmp_path):
    cfg = tiny_stage2(stage1_dir, cache, optim={"epochs": 3}, run={"val_every": 1})
    straight = Stage2Trainer(cfg, tmp_path / "a")
    full = [straight.train_epoch() for _ in range(2)]

    first = Stage2Trainer(cfg, tmp_path / "b")
    first.train_epoch()
    path = first.save()
    resumed = Stage2Trainer(cfg, tmp_path / "b")
    resumed.load(path)
    second = resumed.train_epoch()
    for key in ("train/prior_loss", "val/prior_loss", "val/token_acc"):
        assert second[key] == full[1][key], key
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_the_stage1_model_is_frozen(stage1_dir, cache, tmp_path):
    cfg = tiny_stage2(stage1_dir, cache, optim={"epochs": 3})
    trainer = Stage2Trainer(cfg, tmp_path / "r")
    before = {k: v.clone() for k, v in trainer.stage1.state_dict().items()}
    trainer.train_epoch()
    assert all(torch.equal(v, trainer.stage1.state_dict()[k]) for k, v in before.items())
    assert not any(p.requires_grad for p in trainer.stage1.parameters())
    assert torch.equal(  # the prior's embedding started from the stage-1 codebook
        Stage2Trainer(cfg, tmp_path / "r").model.tok_emb.weight, trainer.stage1.vq.codebook.cpu()
    )


def test_missing_stage1_checkpoint(cache, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Stage2Trainer(tiny_stage2(tmp_path / "nowhere", cache), tmp_path / "out")
    with pytest.raises(ConfigError, match="stage1"):
        Stage2Trainer(tiny_stage2("", cache), tmp_path / "out")


def test_corrupt_stage1_checkpoint(cache, tmp_path):
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "checkpoint.pt").write_bytes(b"\x80\x02 truncated")
    with pytest.raises(CheckpointError, match="corrupt"):
        Stage2Trainer(tiny_stage2(tmp_path / "s1", cache), tmp_path / "out")


def test_stage1_checkpoint_of_another_dataset(stage1_dir, cache, tmp_path):
    cfg = tiny_stage2(stage1_dir, cache, dataset="ECG200")
    with pytest.raises(CheckpointError, match="SonyAIBORobotSurface1.*ECG200"):
        Stage2Trainer(cfg, tmp_path / "out")


def test_cli_reports_bad_inputs_without_a_traceback(stage1_dir, tmp_path):
    args = [
        "train",
        "stage2",
        "--stage1",
        str(tmp_path / "nope"),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "no checkpoint" in result.output
    assert not isinstance(result.exception, CheckpointError)  # turned into a ClickException
    args = [
        "train",
        "stage2",
        "--stage1",
        str(stage1_dir),
        "--dataset",
        "ECG200",
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "ECG200" in result.output
    result = CliRunner().invoke(
        main, ["sample", "--stage2", str(stage1_dir), "--n", "2", "--out", str(tmp_path / "x.npy")]
    )
    assert result.exit_code == 1 and "'stage1' checkpoint, expected 'stage2'" in result.output
