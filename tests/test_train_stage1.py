"""Stage-1 training loop on real bundled data: learning, determinism, resume, run directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_stage1

from ncsweep.train.common import CheckpointError
from ncsweep.train.stage1 import Stage1Trainer, load_stage1_model, run_stage1


def test_training_lowers_recon_and_beats_chance(tmp_path):
    cfg = tiny_stage1("barlowtwins", "gauss", optim={"epochs": 8})
    seen = []
    final = run_stage1(cfg, tmp_path, report=seen.append)
    assert [m["epoch"] for m in seen] == list(range(1, 9))
    assert seen[-1]["val/recon"] < seen[0]["val/recon"]
    y_test = Stage1Trainer(cfg, tmp_path / "probe").data.y_test
    majority = np.bincount(y_test).max() / len(y_test)
    assert final["knn_acc"] > majority or final["svm_acc"] > majority
    for key in (
        "val_recon",
        "knn_acc",
        "svm_acc",
        "perplexity",
        "tokens_per_series",
        "epochs",
        "seconds",
    ):
        assert key in final
    assert final["tokens_per_series"] == 45  # L=70 → 9 latent frames × 5 bins
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(final)
    history = [json.loads(ln) for ln in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == list(range(1, 9))
    for term in ("recon_x", "recon_u", "commit", "aug_recon_x", "aug_recon_u", "ssl", "total"):
        assert f"train/{term}" in history[0]


def test_same_seed_same_metrics(tmp_path):
    cfg = tiny_stage1("vibcreg", "warp")
    a = run_stage1(cfg, tmp_path / "a")
    b = run_stage1(cfg, tmp_path / "b")
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_resume_equals_uninterrupted(tmp_path):
    cfg = tiny_stage1("barlowtwins", "slice", optim={"epochs": 4}, run={"checkpoint_every": 2})
    full = run_stage1(cfg, tmp_path / "full")
    part = Stage1Trainer(cfg, tmp_path / "part")
    part.train_epoch(), part.train_epoch()  # epoch 2 writes checkpoint.pt
    part.train_epoch()  # work past the checkpoint that a crash loses
    resumed = run_stage1(cfg, tmp_path / "part")  # picks up checkpoint.pt at epoch 2
    for d in (full, resumed):
        d.pop("seconds")
    assert resumed == full
    history = (tmp_path / "part" / "history.jsonl").read_text().splitlines()
    assert [json.loads(h)["epoch"] for h in history] == [1, 2, 3, 4]


def test_resume_refuses_other_config(tmp_path):
    run_stage1(tiny_stage1("none", optim={"epochs": 1}), tmp_path)
    with pytest.raises(CheckpointError, match="ssl.method"):
        run_stage1(tiny_stage1("vibcreg", "gauss", optim={"epochs": 1}), tmp_path)


def test_checkpoint_from_before_a_late_field_resumes_at_its_default(tmp_path):
    """A checkpoint written before a config field existed (``late()``: probe.svm_max_iter,
    ssl.bt_eps, ...) resumes under a config that leaves the field at its default, as its trial
    key does; the field away from its default is another config (found when a running
    benchmarks/reproduce.py check refused its own checkpoints after svm_max_iter was added)."""
    import torch

    from ncsweep.config import Stage1Config, to_dict
    from ncsweep.config.base import without_late_defaults

    cfg = tiny_stage1("none", optim={"epochs": 3}, run={"checkpoint_every": 2})
    part = Stage1Trainer(cfg, tmp_path)
    part.train_epoch(), part.train_epoch()
    ckpt = tmp_path / "checkpoint.pt"
    payload = torch.load(ckpt, weights_only=False)
    payload["config"] = without_late_defaults(Stage1Config, to_dict(cfg))
    assert "probe" not in payload["config"] and "bt_eps" not in payload["config"]["ssl"]
    torch.save(payload, ckpt)
    other = tiny_stage1("none", optim={"epochs": 3}, run={"checkpoint_every": 2},
                        probe={"svm_max_iter": 5})  # fmt: skip
    with pytest.raises(CheckpointError, match="probe.svm_max_iter"):
        Stage1Trainer(other, tmp_path).resume_latest()
    final = run_stage1(cfg, tmp_path)
    assert final["epochs"] == 3
    history = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(h)["epoch"] for h in history] == [1, 2, 3]


def test_checkpoint_carries_config_and_loads(tmp_path):
    cfg = tiny_stage1("none", optim={"epochs": 1})
    run_stage1(cfg, tmp_path)
    model, loaded_cfg, meta = load_stage1_model(tmp_path)
    assert loaded_cfg == cfg
    assert meta["dataset"] == "SonyAIBORobotSurface1" and meta["length"] == 70
    assert not model.training


def test_corrupt_checkpoint_is_named(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="checkpoint.pt"):
        load_stage1_model(tmp_path)


def test_trial_figures(tmp_path):
    trainer = Stage1Trainer(tiny_stage1("none", optim={"epochs": 1}), tmp_path)
    trainer.train_epoch()
    figs = trainer.figures(n_tsne=100)
    assert set(figs) == {"reconstructions", "latent_tsne"}
    recon_ax = figs["reconstructions"].axes[0]
    assert len(recon_ax.lines) == 2  # original and reconstruction
    assert len(recon_ax.lines[0].get_xdata()) == 70
    tsne_ax = figs["latent_tsne"].axes[0]
    assert sum(len(c.get_offsets()) for c in tsne_ax.collections) == 100


def test_validation_has_its_own_cadence(tmp_path):
    """run.val_every (issue 15): validation on its cadence, every probe epoch and the last;
    the history marks the epochs that carry it; no pass runs on the others."""
    cfg = tiny_stage1(optim={"epochs": 5}, run={"eval_every": 4, "val_every": 3})
    trainer = Stage1Trainer(cfg, tmp_path)
    passes = []
    validate = trainer.validate
    trainer.validate = lambda: passes.append(trainer.epoch) or validate()
    while not trainer.done:
        trainer.train_epoch()
    history = [json.loads(ln) for ln in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert passes == [3, 4, 5]  # val_every 3, probe at 4, the last epoch
    assert [h["validated"] for h in history] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert ["val/recon" in h for h in history] == [False, False, True, True, True]
    assert ["knn_acc" in h for h in history] == [False, False, False, True, True]
    final = json.loads((tmp_path / "metrics.json").read_text())
    assert final["val_recon"] == history[-1]["val/recon"]


def test_default_validation_cadence_is_the_probe_cadence():
    run = tiny_stage1(run={"eval_every": 50}).run
    assert run.val_every is None
    assert [k for k in range(1, 121) if run.validates(k, 120)] == [50, 100, 120]
    assert run.validations(1000) == (20, 20)
    assert tiny_stage1(run={"val_every": 1, "eval_every": 0}).run.validations(10) == (10, 1)
