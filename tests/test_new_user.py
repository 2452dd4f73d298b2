"""A new user at a real shell (issue 14): the installed ``ncsweep`` command in a subprocess, so
what is checked is what a terminal shows. Every mistake is one ``Error:`` line on stderr with
exit 1 and no traceback; what was already on disk stays as it was. No Ray: each case is refused
before it would start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

NCSWEEP = [sys.executable, "-c", "from ncsweep.cli import main; main()"]
SPACE = {
    "study": "mine",
    "defaults": {"run": {"device": "cpu"}},
    "stage1": {
        "config": {"optim": {"epochs": 1}},
        "resources": {"gpu": 0, "cpu": 1},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0], "variants": [{"ssl": "none"}]},
    },
    "stage2": None,
}


def sh(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "COLUMNS": "100"}
    env.pop("NCSWEEP_UCR_ROOT", None)
    return subprocess.run(
        [*NCSWEEP, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def one_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Error: " in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    return proc.stderr


def test_help_tells_what_each_command_and_default_means(tmp_path):
    top = " ".join(sh("--help", cwd=tmp_path).stdout.split())
    assert "train stage1" in top and "train evaluator" in top and "train stage2" in top
    train = " ".join(sh("train", "stage1", "--help", cwd=tmp_path).stdout.split())
    assert "[default: SonyAIBORobotSurface1]" in train and "full 1000 epochs" in train
    for cmd in ("run", "plan", "resume"):
        assert "--data-root" in sh(cmd, "--help", cwd=tmp_path).stdout


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--device", "gpu0"], ["run.device", "'gpu0'", "cuda:N"]),
        (["--data-root", "/nonexistent/ucr"], ["data root /nonexistent/ucr", "does not exist"]),
    ],
)
def test_train_with_a_wrong_flag(tmp_path, flags, words):
    one_error(sh("train", "stage1", "--epochs", "1", *flags, "--out", "r", cwd=tmp_path), *words)
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU may be here")
def test_train_on_cuda_without_a_gpu(tmp_path):
    one_error(sh("train", "stage1", "--device", "cuda", "--out", "r", cwd=tmp_path), "no CUDA")


def test_train_into_a_folder_that_cannot_be_written(tmp_path):
    (tmp_path / "f").write_text("a file, not a folder")
    one_error(
        sh("train", "stage1", "--epochs", "1", "--out", "f/run", cwd=tmp_path), "cannot write"
    )
    assert (tmp_path / "f").read_text() == "a file, not a folder"


def test_data_list_with_a_missing_root(tmp_path):
    one_error(sh("data", "list", "--root", "/nonexistent/ucr", cwd=tmp_path), "does not exist")


def test_a_second_study_into_the_first_ones_storage(tmp_path):
    from ncsweep.study import load_study
    from ncsweep.sweep.ledger import Ledger

    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(SPACE))
    (tmp_path / "theirs.yaml").write_text(yaml.safe_dump({**SPACE, "study": "theirs"}))
    _, trials = load_study(tmp_path / "mine.yaml")
    Ledger(tmp_path / "st").save_study(tmp_path / "mine.yaml", [t.to_dict() for t in trials])
    before = (tmp_path / "st" / "study.yaml").read_text()
    err = one_error(sh("run", "theirs.yaml", "--storage", "st", cwd=tmp_path), "'mine'", "'theirs'")
    assert "ncsweep resume" in err and (tmp_path / "st" / "study.yaml").read_text() == before


def test_tables_against_a_server_that_is_down(tmp_path):
    proc = sh(
        "tables",
        "--tracking-uri",
        "http://127.0.0.1:9",
        "--experiment",
        "x",
        "--out",
        "t",
        cwd=tmp_path,
    )
    one_error(proc, "no MLflow server answers")
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_run_address_that_answers_tcp_but_is_no_ray_cluster(tmp_path):
    """Ray would retry such an address forever; the driver gives up after NCSWEEP_RAY_CONNECT_S."""
    import socket

    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(SPACE))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        os.environ["NCSWEEP_RAY_CONNECT_S"] = "5"
        try:
            proc = sh("run", "mine.yaml", "--storage", "st", "--address", address, cwd=tmp_path)
        finally:
            del os.environ["NCSWEEP_RAY_CONNECT_S"]
    one_error(proc, f"cannot join the Ray cluster at {address}", "no answer within 5 s")
    assert not (tmp_path / "st").exists()
