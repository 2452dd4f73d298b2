"""Bad input as a new user meets it (issue 14 §3, §4, §8): one clear line, exit 1, no traceback,
nothing in the run directory touched. Each test is the command, its exit code and its message."""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import ncsweep
from ncsweep.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_clear_error(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    for w in words:
        assert w in result.output, result.output


@pytest.fixture
def finished_run(tmp_path):
    """An --out that already holds a run: bad input must leave it as it is."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"val_recon": 0.5}')
    return out


def test_device_gpu0_flag_is_refused_and_blamed_on_the_flag(tmp_path, finished_run):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"run": {"seed": 1}}))
    r = cli("train", "stage1", "--config", good, "--device", "gpu0", "--out", finished_run)
    _one_clear_error(r, "run.device", "'gpu0'", "cuda:N", "command-line flags")
    assert f"invalid config in {good}" not in r.output  # the file is fine
    assert os.listdir(finished_run) == ["metrics.json"]


def test_device_gpu0_in_the_file_is_blamed_on_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"run": {"device": "gpu0"}}))
    r = cli("train", "stage1", "--config", bad, "--epochs", "1", "--out", tmp_path / "out")
    _one_clear_error(r, f"invalid config in {bad}", "run.device")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stage", ["stage2", "evaluator"])
def test_device_gpu0_other_trainers(tmp_path, stage):
    extra = ["--stage1", tmp_path, "--out", tmp_path / "o"] if stage == "stage2" else []
    extra += ["--dataset", "SonyAIBORobotSurface1"] if stage == "evaluator" else []
    _one_clear_error(cli("train", stage, "--device", "gpu0", *extra), "gpu0", "cuda:N")


def test_device_cuda_without_a_gpu(finished_run):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = cli("train", "stage1", "--device", "cuda", "--epochs", "1", "--out", finished_run)
    _one_clear_error(r, "--device cuda", "no CUDA device", "--device cpu")
    assert os.listdir(finished_run) == ["metrics.json"]


def test_out_under_a_file(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    r = cli("train", "stage1", "--epochs", "1", "--out", blocker / "run")
    _one_clear_error(r, "cannot write", str(blocker), "--out")
    assert blocker.read_text() == "keep me"


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs the read-only /sys of Linux")
def test_out_on_a_read_only_filesystem():
    r = cli("train", "stage1", "--epochs", "1", "--out", "/sys/ncsweep-test/run")
    _one_clear_error(r, "cannot write /sys/ncsweep-test", "--out")


def test_yaml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("optim: [1\n")
    r = cli("train", "stage1", "--config", bad, "--out", tmp_path / "out")
    _one_clear_error(r, f'in "{bad}", line', "YAML syntax error")
    assert "<unicode string>" not in r.output


def test_missing_data_root_is_an_error(tmp_path):
    r = cli(
        "train",
        "stage1",
        "--data-root",
        tmp_path / "nope",
        "--epochs",
        "1",
        "--out",
        tmp_path / "o",
    )
    _one_clear_error(r, f"data root {tmp_path / 'nope'}", "does not exist")
    assert not (tmp_path / "o").exists()
    r = cli("data", "list", "--root", tmp_path / "nope")
    _one_clear_error(r, "does not exist")


def test_missing_env_data_root_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NCSWEEP_UCR_ROOT", str(tmp_path / "gone"))
    r = cli("data", "check", "SonyAIBORobotSurface1")
    assert r.exit_code == 1 and "$NCSWEEP_UCR_ROOT" in r.output and "unset it" in r.output


def test_train_help_shows_defaults_and_warns_about_epochs():
    text = cli("train", "stage1", "--help").output
    assert re.search(r"--dataset.*\[default:\s+SonyAIBORobotSurface1\]", text, re.S)
    assert "[default: 1000" in text and "4096-wide" in text and "try --epochs 3" in text


def test_stage2_help_example_names_a_real_file():
    text = cli("train", "stage2", "--help").output
    names = re.findall(r"--config (\S+\.ya?ml)", text)
    assert names and all((ROOT / n).is_file() for n in names), names


def test_top_level_help_lists_every_trainer():
    text = cli("--help").output
    assert all(f"train {s}" in " ".join(text.split()) for s in ("stage1", "stage2", "evaluator"))


def test_version_in_one_place_and_py_typed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert (
        not re.search(r'^version\s*=\s*"', pyproject, re.M) and 'dynamic = ["version"]' in pyproject
    )
    assert importlib.metadata.version("ncsweep") == ncsweep.__version__
    assert cli("--version").output.strip().endswith(ncsweep.__version__)
    assert (Path(ncsweep.__file__).parent / "py.typed").is_file()
    assert '"py.typed"' in pyproject
