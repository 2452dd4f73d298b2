"""Every number of the method is a config field (issue 11 §2), and the baseline rule lives in the
config alone (§3): a baseline with an augmentation or ζ is refused by every caller."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.config import ConfigError, Stage1Config, from_dict, override, to_dict
from ncsweep.config.base import without_late_defaults
from ncsweep.losses import barlow_twins, ssl_method, vibcreg, vibcreg_terms
from ncsweep.metrics import probe_accuracy
from ncsweep.models.stage1 import Stage1Model
from ncsweep.study import expand, parse_space

GEN = torch.Generator().manual_seed(0)
Z1, Z2 = torch.randn(16, 8, generator=GEN), torch.randn(16, 8, generator=GEN)


def ssl_cfg(method: str, **changes) -> Stage1Config:
    ssl = {"method": method, "augmentation": "warp", "proj_hidden": 64, "proj_out": 64, **changes}
    return override(Stage1Config(), {"ssl": ssl})


def test_defaults_are_the_spec_numbers():
    ssl, probe = Stage1Config().ssl, Stage1Config().probe
    assert (ssl.vibcreg_sim, ssl.vibcreg_var, ssl.vibcreg_cov) == (25.0, 25.0, 100.0)
    assert (ssl.vibcreg_scale, ssl.vibcreg_var_eps, ssl.bt_eps, ssl.bt_lambda) == (
        0.01,
        1e-4,
        1e-8,
        0.005,
    )
    assert (ssl.iternorm_groups, ssl.iternorm_iters, ssl.iternorm_eps, ssl.iternorm_momentum) == (
        64,
        5,
        1e-5,
        0.1,
    )
    assert (probe.knn_k, probe.svm_c) == (5, 1.0)


def test_vibcreg_weights_and_eps_come_from_the_config():
    loss = ssl_method("vibcreg").loss
    assert loss(Z1, Z2, ssl_cfg("vibcreg").ssl) == vibcreg(Z1, Z2)  # defaults: the paper's
    t = vibcreg_terms(Z1, Z2)
    for term, weights in (("sim", (1, 0, 0)), ("var", (0, 1, 0)), ("cov", (0, 0, 1))):
        cfg = ssl_cfg("vibcreg", vibcreg_sim=weights[0], vibcreg_var=weights[1])
        cfg = override(cfg, {"ssl": {"vibcreg_cov": weights[2], "vibcreg_scale": 2.0}})
        torch.testing.assert_close(loss(Z1, Z2, cfg.ssl), 2.0 * t[term])
    small = 0.1 * Z1  # std ≈ 0.1: the variance hinge is active, so its eps shows
    eps = ssl_cfg("vibcreg", vibcreg_var_eps=0.5, vibcreg_sim=0, vibcreg_cov=0).ssl
    got = loss(small, small, eps)
    want = 0.01 * 25 * 2 * torch.relu(1 - torch.sqrt(small.var(0) + 0.5)).mean()
    torch.testing.assert_close(got, want)


def test_barlow_twins_eps_comes_from_the_config():
    loss = ssl_method("barlowtwins").loss
    assert loss(Z1, Z2, ssl_cfg("barlowtwins").ssl) == barlow_twins(Z1, Z2)
    big = ssl_cfg("barlowtwins", bt_eps=10.0).ssl  # std + 10: the correlations shrink
    assert loss(Z1, Z2, big) == barlow_twins(Z1, Z2, eps=10.0) != barlow_twins(Z1, Z2)


def test_iternorm_takes_eps_and_momentum_from_the_config():
    cfg = ssl_cfg("vibcreg", iternorm_eps=1e-3, iternorm_momentum=1.0, iternorm_groups=4)
    m = Stage1Model(override(cfg, {"ssl": {"iternorm_iters": 3}}), 70)
    norm = m.iternorm
    assert (norm.eps, norm.momentum, norm.num_groups, norm.T) == (1e-3, 1.0, 4, 3)
    x = torch.randn(32, 64, generator=GEN)
    norm.train()(x)  # momentum 1: the running mean is this batch's mean
    torch.testing.assert_close(norm.running_mean.reshape(-1), x.mean(0))


def test_probe_k_and_c_come_from_the_config():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(30, 4))
    y = (np.arange(30) < 20).astype(int)  # 20 of class 1, 10 of class 0
    assert probe_accuracy(f, y, f, y, knn_k=1)["knn_acc"] == 1.0  # each point is its own neighbour
    all_votes = probe_accuracy(f, y, f, y, knn_k=30)["knn_acc"]
    assert all_votes == pytest.approx(20 / 30)  # k = n: the majority class everywhere
    weak = probe_accuracy(f, y, f, y, svm_c=1e-6)["svm_acc"]
    assert weak == pytest.approx(20 / 30)  # C → 0: a flat margin, the majority class


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("ssl", "vibcreg_scale", 0),
        ("ssl", "vibcreg_cov", -1),
        ("ssl", "vibcreg_var_eps", 0),
        ("ssl", "bt_eps", 0),
        ("ssl", "iternorm_eps", -1e-5),
        ("ssl", "iternorm_momentum", 1.5),
        ("probe", "knn_k", 0),
        ("probe", "svm_c", 0),
    ],
)
def test_out_of_range_method_numbers_are_refused_by_key(section, key, value):
    with pytest.raises(ConfigError, match=rf"{section}\.{key}: must be"):
        from_dict(Stage1Config, {section: {key: value}}, "f.yaml")


SPACE = {
    "study": "t",
    "stage1": {
        "config": {"optim": {"epochs": 1}},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0], "variants": []},
    },
}


def keys(*variants) -> list[str]:
    raw = copy.deepcopy(SPACE)
    raw["stage1"]["grid"]["variants"] = list(variants)
    return [t.key for t in expand(parse_space(raw))]


VIB = {"ssl": "vibcreg", "augmentation": "warp"}


def test_new_fields_at_their_default_leave_trial_keys_alone():
    """Keys hash the config less its late fields at their defaults: a study stored before those
    fields existed expands to the same keys and resumes; a changed value is a trial of its own."""
    (plain,) = keys(VIB)
    (explicit,) = keys({**VIB, "config": {"ssl": {"vibcreg_cov": 100.0}, "probe": {"knn_k": 5}}})
    (ablated,) = keys({**VIB, "config": {"ssl": {"vibcreg_cov": 50.0}}})
    (other_k,) = keys({**VIB, "config": {"probe": {"knn_k": 3}}})
    assert plain == explicit
    assert len({plain, ablated, other_k}) == 3


def test_only_late_fields_at_their_default_are_dropped_from_the_hashed_config():
    full = to_dict(ssl_cfg("vibcreg"))
    slim = without_late_defaults(Stage1Config, full)
    assert "probe" not in slim and "vibcreg_cov" not in slim["ssl"]
    assert slim["ssl"]["bt_lambda"] == full["ssl"]["bt_lambda"]  # an original field stays
    assert set(slim) == set(full) - {"probe"}
    full["ssl"]["vibcreg_cov"] = 50.0
    assert without_late_defaults(Stage1Config, full)["ssl"]["vibcreg_cov"] == 50.0


@pytest.mark.parametrize(
    ("ssl", "message"),
    [
        ({"augmentation": "warp"}, "ssl.augmentation='warp'"),
        ({"zeta": 0.1}, "ssl.zeta=0.1"),
    ],
)
def test_the_config_refuses_a_baseline_with_an_augmentation_or_zeta(ssl, message):
    with pytest.raises(ConfigError, match=message) as err:
        from_dict(Stage1Config, {"ssl": ssl}, "f.yaml")
    assert "f.yaml" in str(err.value) and "naive VQVAE" in str(err.value)
    assert from_dict(Stage1Config, {"ssl": {"zeta": 0.2}}).ssl.zeta == 0.2  # the default: same


def test_plan_refuses_a_baseline_with_an_augmentation_naming_file_and_key(tmp_path):
    raw = copy.deepcopy(SPACE)
    raw["stage1"]["grid"]["variants"] = [{"ssl": "none"}, {"ssl": "none", "augmentation": "warp"}]
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = CliRunner().invoke(main, ["plan", str(path)])
    assert out.exit_code != 0
    assert str(path) in out.output
    assert "stage1.grid.variants[1].ssl" in out.output and "augmentation='warp'" in out.output


def test_train_stage1_refuses_a_baseline_with_aug_through_the_config(tmp_path):
    args = ["train", "stage1", "--ssl", "none", "--aug", "warp", "--out", str(tmp_path / "r")]
    out = CliRunner().invoke(main, args)
    assert out.exit_code != 0 and "augmentation='warp'" in out.output
    assert not (tmp_path / "r").exists()  # refused before anything started
