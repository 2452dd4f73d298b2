"""``ncsweep train stage1`` as a user runs it: every variant, JSON last line, clear errors."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from ncsweep.cli import main

SMALL = {"ssl": {"proj_hidden": 64, "proj_out": 64}, "optim": {"batch_size": 16}}
VARIANTS = [("none", None)] + [
    (s, a) for s in ("barlowtwins", "vibcreg") for a in ("warp", "slice", "gauss")
]


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def train(args, config):
    result = CliRunner().invoke(main, ["train", "stage1", "--config", str(config), *args])
    return result


@pytest.mark.parametrize(("ssl", "aug"), VARIANTS)
def test_every_variant_trains_and_prints_json(tmp_path, small_config, ssl, aug):
    out = tmp_path / "run"
    args = ["--dataset", "SonyAIBORobotSurface1", "--ssl", ssl, "--epochs", "1", "--out", str(out)]
    args += ["--aug", aug, "--zeta", "0.2"] if aug else []
    result = train(args, small_config)
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout.strip().splitlines()[-1])
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
    assert final["epochs"] == 1 and final["tokens_per_series"] == 45
    assert json.loads((out / "metrics.json").read_text()) == pytest.approx(final)
    assert (out / "checkpoint.pt").is_file() and (out / "config.yaml").is_file()
    assert "epoch 1/1" in result.stderr


def test_baseline_with_augmentation_is_refused(tmp_path, small_config):
    result = train(["--ssl", "none", "--aug", "warp", "--out", str(tmp_path)], small_config)
    assert result.exit_code == 1
    assert "ssl.augmentation" in result.output and "naive VQVAE" in result.output


def test_ssl_without_augmentation_is_refused(tmp_path, small_config):
    result = train(["--ssl", "vibcreg", "--out", str(tmp_path)], small_config)
    assert result.exit_code == 1 and "needs ssl.augmentation" in result.output


def test_unknown_config_key_names_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ssl: {proj_hiden: 64}\noptim: {epochs: many}\n")
    result = train(["--out", str(tmp_path / "o")], bad)
    assert result.exit_code == 1
    assert str(bad) in result.output
    assert "ssl.proj_hiden: unknown key" in result.output
    assert "optim.epochs: expected an integer" in result.output


def test_values_out_of_range_are_refused_with_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: {lr: 0}\nvq: {decay: 1.5}\naugment: {warp_window_ratio: 0}\n")
    result = train(["--epochs", "-2", "--out", str(tmp_path / "o")], bad)
    assert result.exit_code == 1
    for line in (
        "optim.epochs: must be >= 1, got -2",
        "optim.lr: must be > 0, got 0.0",
        "vq.decay: must be in [0,1), got 1.5",
        "augment.warp_window_ratio: must be in (0,1], got 0.0",
    ):
        assert line in result.output
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_every_limit_names_a_field_and_the_defaults_obey_them():
    import dataclasses

    from ncsweep.config import Stage1Config, Stage2Config
    from ncsweep.config.base import outside

    def walk(obj):
        yield obj
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                yield from walk(value)

    checked = 0
    for cfg in walk(Stage1Config()), walk(Stage2Config(stage1="x")):
        for obj in cfg:
            names = {f.name for f in dataclasses.fields(obj)}
            for name, rule in getattr(obj, "LIMITS", {}).items():
                assert name in names, f"{type(obj).__name__}.LIMITS names unknown {name}"
                assert outside(getattr(obj, name), rule) is None, (type(obj).__name__, name)
                checked += 1
    assert checked > 40


def test_missing_dataset_says_where_it_looked(tmp_path, small_config):
    result = train(
        ["--dataset", "Wafer", "--data-root", str(tmp_path), "--out", str(tmp_path / "o")],
        small_config,
    )
    assert result.exit_code == 1
    assert "Wafer" in result.output and str(tmp_path) in result.output


def test_help_explains_options():
    result = CliRunner().invoke(main, ["train", "stage1", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--dataset",
        "--ssl",
        "--aug",
        "--zeta",
        "--seed",
        "--epochs",
        "--out",
        "--config",
    ):
        assert flag in result.output
