"""Fault cases of one run directory (issue 13 §1, §5, §6; issue 14 §7), without Ray: a kill in
stage 2's scoring window, truncated checkpoints, a moved storage, duplicate history lines,
file modes and weights-only loading. Each asserts that nothing finished is lost."""

from __future__ import annotations

import json
import math
import os
import shutil

import pytest
import torch
from conftest import tiny_stage1

from ncsweep.config import Stage2Config, from_dict
from ncsweep.train.common import (
    CHECKPOINT,
    PREVIOUS,
    CorruptCheckpoint,
    config_mismatch,
    load_checkpoint,
    resume_free,
)
from ncsweep.train.stage1 import Stage1Trainer, run_stage1
from ncsweep.train.stage2 import Stage2Trainer, load_stage2_model

S2_TINY = {
    "prior": {"hidden": 16, "n_layers": 1, "n_heads": 2, "head_dim": 8},
    "optim": {"epochs": 1, "batch_size": 8},
    "sampling": {"steps": 2},
    "evaluator": {"epochs": 1, "batch_size": 16},
    "eval": {"n_fid": 20, "is_splits": 2, "cas_min_samples": 20, "cas_epochs": 1},
    "run": {"device": "cpu", "checkpoint_every": 1},
}


def _results(final: dict) -> dict:
    return {k: v for k, v in final.items() if k != "seconds"}  # wall time aside


def _history_epochs(out) -> list[int]:
    return [json.loads(ln)["epoch"] for ln in (out / "history.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def s1_cfg():
    return tiny_stage1(optim={"epochs": 3}, run={"eval_every": 0})


@pytest.fixture(scope="module")
def reference(s1_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    return out, run_stage1(s1_cfg, out)


def test_truncated_latest_checkpoint_falls_back_to_previous(s1_cfg, reference, tmp_path):
    out = tmp_path / "run"
    trainer = Stage1Trainer(s1_cfg, out)
    for _ in range(2):
        trainer.train_epoch()  # checkpoints at epochs 1 and 2
    assert (out / PREVIOUS).is_file()
    data = (out / CHECKPOINT).read_bytes()
    (out / CHECKPOINT).write_bytes(data[: len(data) // 3])  # a kill mid-write on a flaky fs
    resumed = Stage1Trainer(s1_cfg, out)
    note = resumed.resume_latest()
    assert resumed.epoch == 1 and "resumed from checkpoint.prev.pt" in note
    assert (out / (CHECKPOINT + ".corrupt")).is_file()
    assert _history_epochs(out) == [1]
    final = resumed.run()
    assert _results(final) == _results(reference[1])  # the numbers of an uninterrupted run
    assert _history_epochs(out) == [1, 2, 3]


def test_no_readable_checkpoint_starts_over_without_duplicate_history(s1_cfg, reference, tmp_path):
    out = tmp_path / "run"
    trainer = Stage1Trainer(s1_cfg, out)
    trainer.train_epoch()
    (out / CHECKPOINT).write_bytes(b"not a checkpoint")
    final = run_stage1(s1_cfg, out)
    assert _results(final) == _results(reference[1])
    assert _history_epochs(out) == [1, 2, 3]  # the killed attempt's line is gone (§6)


def test_killed_before_first_checkpoint_leaves_no_duplicate_epoch(s1_cfg, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_stage1(optim={"epochs": 2}, run={"eval_every": 0, "checkpoint_every": 0})
    trainer = Stage1Trainer(cfg, out)
    trainer.train_epoch()  # history line, no checkpoint yet; then the worker dies
    assert not (out / CHECKPOINT).exists()
    retry = Stage1Trainer(cfg, out)
    assert retry.resume_latest() is None and retry.epoch == 0
    retry.run(resume=True)
    assert _history_epochs(out) == [1, 2]


def test_files_follow_the_umask_and_load_weights_only(reference):
    out = reference[0]
    mask = os.umask(0o022)
    os.umask(mask)
    for name in (CHECKPOINT, "metrics.json", "config.yaml"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
    payload = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)
    assert payload["epoch"] == 3


class _Planted:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ncsweep-planted-ran",))


def test_planted_checkpoint_is_refused_not_run(tmp_path):
    path = tmp_path / CHECKPOINT
    torch.save({"stage": "stage1", "config": {}, "x": _Planted()}, path)
    marker = "/tmp/ncsweep-planted-ran"
    if os.path.exists(marker):
        os.unlink(marker)
    with pytest.raises(CorruptCheckpoint, match=str(path)):
        load_checkpoint(path)
    assert not os.path.exists(marker)


def test_stage1_reference_may_move_with_the_storage():
    saved = {"stage1": "/old/storage/trials/s1-x", "optim": {"epochs": 1}}
    now = {"stage1": "/new/storage/trials/s1-x", "optim": {"epochs": 1}}
    assert config_mismatch(saved, now, resume_free("stage2")) == []
    diffs = config_mismatch(saved, now)  # without the reference free: named by its key
    assert diffs and diffs[0].startswith("stage1: checkpoint") and "None" not in diffs[0]


@pytest.mark.slow
def test_scoring_window_kill_is_scored_on_resume(tmp_path, monkeypatch):
    """Issue 13 §1: the final checkpoint is written, the kill comes during FID/IS/CAS."""
    storage = tmp_path / "storage"
    s1 = storage / "trials" / "s1-a"
    run_stage1(tiny_stage1(optim={"epochs": 1}, run={"eval_every": 0}), s1)
    cfg = from_dict(
        Stage2Config,
        {**S2_TINY, "stage1": str(s1), "evaluator": {**S2_TINY["evaluator"],
                                                      "cache_dir": str(storage / "ev")}},
    )
    out = storage / "trials" / "s2-a"

    def killed(self):
        raise KeyboardInterrupt("driver killed while scoring")

    monkeypatch.setattr(Stage2Trainer, "finish", killed)
    with pytest.raises(KeyboardInterrupt):
        Stage2Trainer(cfg, out).train_epoch()
    monkeypatch.undo()
    again = Stage2Trainer(cfg, out)
    again.resume_latest()
    assert again.done and not again.scored  # trained, not scored: not finished
    assert math.isnan(again.final_metrics()["fid"])  # what the trial used to be 'done' with
    final = again.score()
    assert again.scored and all(math.isfinite(final[k]) for k in ("fid", "is_mean", "cas"))
    # the storage moves; the stage-2 checkpoint still finds its stage 1 (relative reference)
    moved = tmp_path / "moved"
    shutil.move(storage, moved)
    prior, stage1, _, meta = load_stage2_model(moved / "trials" / "s2-a")
    assert meta["stage1"] == str((moved / "trials" / "s1-a").resolve())
