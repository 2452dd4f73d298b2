"""Shared pieces of every training loop: seeding, device choice, schedule, run directory IO.

A run directory holds ``config.yaml``, ``checkpoint.pt`` (latest, written atomically),
``history.jsonl`` (one line per epoch) and ``metrics.json`` (only once the run has finished).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncsweep.config import to_dict
from ncsweep.fsutil import atomic_write_bytes
from ncsweep.stages import WHERE_NOT_WHAT

Report = Callable[[dict[str, float]], None]

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
HISTORY = "history.jsonl"
CONFIG = "config.yaml"


def set_seed(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for data order and augmentations."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` → CUDA when this process can see a GPU, else CPU (Ray may declare GPUs we lack)."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but torch sees no CUDA device")
    return torch.device(name)


def cosine_lambda(total_steps: int) -> Callable[[int], float]:
    """Cosine annealing from 1 to 0 over ``total_steps`` optimizer steps, no warm-up."""
    total = max(1, total_steps)
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def make_optimizer(
    params, lr: float, weight_decay: float, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    # fused AdamW: one kernel over all parameters (5-7x faster optimizer step for the 34 M
    # projector on CPU, benchmarks/stage1_throughput.py); supported on CPU and CUDA in torch >= 2.4.
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, cosine_lambda(total_steps))


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one joins the previous one (BatchNorm needs 2)."""
    parts = list(torch.randperm(n, generator=generator).split(batch_size))
    if len(parts) > 1 and len(parts[-1]) < 2:
        parts[-2] = torch.cat([parts[-2], parts.pop()])
    return parts


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any], generator: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> Path:
    return atomic_write_bytes(path, lambda fh: torch.save(dict(payload), fh))


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not what the caller expected."""


def load_checkpoint(path: Path, expect_stage: str | None = None) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated / corrupt file: say which file
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable: {exc}") from exc
    if not isinstance(payload, dict) or "config" not in payload or "stage" not in payload:
        raise CheckpointError(f"{path} is not an ncsweep checkpoint (no config/stage)")
    if expect_stage and payload["stage"] != expect_stage:
        raise CheckpointError(
            f"{path} is a {payload['stage']!r} checkpoint, expected {expect_stage!r}"
        )
    return payload


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    text = json.dumps(dict(data), indent=2, sort_keys=True, default=float)
    return atomic_write_bytes(path, lambda fh: fh.write(text.encode()))


def append_history(out_dir: Path, metrics: Mapping[str, Any]) -> None:
    with open(Path(out_dir) / HISTORY, "a") as fh:
        fh.write(json.dumps(dict(metrics), default=float) + "\n")


def truncate_history(out_dir: Path, epoch: int) -> None:
    """On resume, drop history lines past the checkpoint's epoch (they will be redone)."""
    path = Path(out_dir) / HISTORY
    if not path.is_file():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["epoch"] <= epoch]
    atomic_write_bytes(path, lambda fh: fh.write("".join(k + "\n" for k in keep).encode()))


def write_config(out_dir: Path, cfg_dict: Mapping[str, Any]) -> Path:
    import yaml

    text = yaml.safe_dump(dict(cfg_dict), sort_keys=False)
    return atomic_write_bytes(Path(out_dir) / CONFIG, lambda fh: fh.write(text.encode()))


# Keys that may differ between a checkpoint and the config resuming it: the same where-not-what
# keys that a trial's key leaves out (one list, in the stage registry).
RESUME_FREE = WHERE_NOT_WHAT


def config_mismatch(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Dotted keys where a checkpoint's config dict differs from ``now`` (where-to-run keys aside)."""
    diffs = []
    for section, values in now.items():
        for key, value in values.items() if isinstance(values, dict) else [(None, values)]:
            if (section, key) in RESUME_FREE:
                continue
            old = saved.get(section, {}).get(key) if key else saved.get(section)
            if old != value:
                diffs.append(f"{section}.{key}: checkpoint {old!r} vs config {value!r}")
    return diffs


def restore_trainer(trainer: Any, path: Path, now_config: Mapping[str, Any]) -> dict[str, Any]:
    """Load model, optimizer, schedule, RNG and progress of ``trainer`` from its checkpoint.

    Refuses a checkpoint trained with another config (a resumed run never mixes two studies).
    """
    payload = load_checkpoint(Path(path), expect_stage=trainer.stage)
    diffs = config_mismatch(payload["config"], now_config)
    if diffs:
        raise CheckpointError(
            f"{path} was trained with another config; refusing to resume:\n  " + "\n  ".join(diffs)
        )
    trainer.model.load_state_dict(payload["model"])
    trainer.optimizer.load_state_dict(payload["optimizer"])
    trainer.scheduler.load_state_dict(payload["scheduler"])
    set_rng_state(payload["rng"], trainer.generator)
    trainer.epoch, trainer.seconds = payload["epoch"], payload["seconds"]
    trainer.last = dict(payload.get("last", {}))
    truncate_history(trainer.out_dir, trainer.epoch)
    return payload


def train_to_end(trainer: Any, report: Report | None, resume: bool) -> None:
    """The loop both stages share: resume from ``out_dir/checkpoint.pt`` (or start clean),
    record the config, train the remaining epochs, reporting each through ``report``."""
    out = trainer.out_dir
    if resume and (out / CHECKPOINT).is_file():
        trainer.load(out / CHECKPOINT)
    elif (out / HISTORY).exists():
        (out / HISTORY).unlink()
    write_config(out, to_dict(trainer.cfg))
    while not trainer.done:
        metrics = trainer.train_epoch()
        if report:
            report(metrics)
