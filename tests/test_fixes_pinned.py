"""Fixes of the thesis code that no other test pinned (issue 11 §7), on real bundled data:
validation over the whole test split; probes that leave the model's state alone; one prior for
baseline and SSL runs; CAS as plain test accuracy, end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_stage1

from ncsweep.config import Stage2Config, deep_merge, from_dict
from ncsweep.train.stage1 import Stage1Trainer, run_stage1
from ncsweep.train.stage2 import Stage2Trainer

TINY_S2 = {
    "prior": {"hidden": 32, "n_layers": 1, "n_heads": 2, "head_dim": 8},
    "optim": {"epochs": 1, "batch_size": 8},
    "sampling": {"steps": 3},
    "evaluator": {"epochs": 1, "batch_size": 16},
    "eval": {"n_fid": 30, "is_splits": 2, "cas_min_samples": 20, "cas_epochs": 1},
    "run": {"device": "cpu", "checkpoint_every": 0},
}


def stage2_cfg(stage1_dir, cache, **changes) -> Stage2Config:
    base = deep_merge(TINY_S2, {"stage1": str(stage1_dir), "evaluator": {"cache_dir": str(cache)}})
    return from_dict(Stage2Config, deep_merge(base, changes))


@pytest.fixture(scope="module")
def stage1_runs(tmp_path_factory):
    """One epoch of the baseline and of VIbCReg (IterNorm buffers too) on SonyAIBORobotSurface1."""
    out = {}
    for ssl, aug in (("none", None), ("vibcreg", "warp")):
        run_dir = tmp_path_factory.mktemp(f"s1-{ssl}")
        run_stage1(tiny_stage1(ssl, aug, optim={"epochs": 1}, run={"eval_every": 0}), run_dir)
        out[ssl] = run_dir
    return out


def trained_stage1(tmp_path, ssl="vibcreg", aug="warp") -> Stage1Trainer:
    cfg = tiny_stage1(ssl, aug, optim={"epochs": 3}, run={"eval_every": 0})
    trainer = Stage1Trainer(cfg, tmp_path)
    trainer.model.train()
    trainer._fit_one_epoch()  # BatchNorm, EMA codebook and IterNorm state away from their init
    return trainer


def test_validation_scores_the_whole_test_split(tmp_path):
    trainer = trained_stage1(tmp_path, "none", None)
    # 601 series: several evaluation batches; the first 256 scaled ×5 so that the whole split's
    # error is far from any one batch's (an untrained model's batches differ by < 0.1 %)
    trainer.x_test = trainer.x_test.clone()
    trainer.x_test[:256] *= 5.0
    x = trainer.x_test
    assert len(x) > max(trainer.cfg.optim.batch_size, 256)
    got = trainer.validate()["val/recon"]
    x_hat, u, u_hat = trainer.model.reconstruct(x)  # the whole split in one pass
    want = float(torch.mean((x - x_hat) ** 2) + torch.mean((u - u_hat) ** 2))
    assert got == pytest.approx(want, rel=1e-5)
    last = x[-(len(x) % 256) :]  # what the thesis code logged: the last batch only
    x_hat, u, u_hat = trainer.model.reconstruct(last)
    last_only = float(torch.mean((last - x_hat) ** 2) + torch.mean((u - u_hat) ** 2))
    assert got != pytest.approx(last_only, rel=0.1)


def test_probe_and_validation_leave_the_model_state_untouched(tmp_path):
    trainer = trained_stage1(tmp_path)
    model = trainer.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert any("running_mean" in k for k in before) and "vq.cluster_size" in before
    assert "iternorm.running_wm" in before
    trainer.validate()
    probes = trainer.probe()
    assert 0 <= probes["knn_acc"] <= 1 and 0 <= probes["svm_acc"] <= 1
    assert model.training  # the mode the trainer left it in is restored
    after = model.state_dict()
    for key, value in before.items():  # BatchNorm stats, codebook, EMA buffers, IterNorm
        assert torch.equal(after[key], value), key


def test_baseline_and_ssl_runs_get_the_same_prior(stage1_runs, tmp_path):
    priors = {
        ssl: Stage2Trainer(stage2_cfg(run, tmp_path / "ev"), tmp_path / ssl).model
        for ssl, run in stage1_runs.items()
    }
    base, ssl = priors["none"], priors["vibcreg"]
    assert type(base) is type(ssl)
    shapes = [(n, tuple(p.shape)) for n, p in base.state_dict().items()]
    assert shapes == [(n, tuple(p.shape)) for n, p in ssl.state_dict().items()]
    assert sum(p.numel() for p in base.parameters()) == sum(p.numel() for p in ssl.parameters())


def test_cas_is_plain_accuracy_on_the_whole_test_split(stage1_runs, tmp_path, monkeypatch):
    import ncsweep.train.sampling as sampling

    fitted = []
    real_fit = sampling.fit_fcn

    def capture(*args, **kwargs):
        fitted.append(real_fit(*args, **kwargs))
        return fitted[-1]

    monkeypatch.setattr(sampling, "fit_fcn", capture)
    trainer = Stage2Trainer(stage2_cfg(stage1_runs["vibcreg"], tmp_path / "ev"), tmp_path / "s2")
    trainer.train_epoch()  # the last epoch: training, then the generative evaluation
    cas = trainer.last["cas"]
    (clf,) = fitted  # the CAS classifier, trained on synthetic series only
    x, y = trainer.data.x_test, np.asarray(trainer.data.y_test)
    with torch.no_grad():
        pred = clf.eval()(torch.as_tensor(x, dtype=torch.float32)).argmax(-1).numpy()
    assert cas == pytest.approx(float((pred == y).mean()), abs=1e-12)
    assert cas * len(y) == pytest.approx(round(cas * len(y)), abs=1e-9)  # hits / N, not an EMA
