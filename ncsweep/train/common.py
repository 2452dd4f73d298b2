"""Shared pieces of every training loop: seeding, device choice, schedule, run directory IO.

A run directory holds ``config.yaml``, ``checkpoint.pt`` (latest, written atomically),
``history.jsonl`` (one line per epoch) and ``metrics.json`` (only once the run has finished).
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Collection, Mapping
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
    """Every RNG's state as plain data (ints, lists, tensors): it loads with weights_only=True."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any], generator: torch.Generator) -> None:
    random.setstate(_tuples(state["python"]))
    np_state = state["numpy"]
    if isinstance(np_state, Mapping):
        keys = np.asarray(np_state["keys"], dtype=np.int64).astype(np.uint32)
        np_state = (np_state["kind"], keys, np_state["pos"], np_state["has_gauss"],
                    np_state["gauss"])
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    # random.setstate wants tuples; a list here would come from a JSON-ish round trip
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


PREVIOUS = "checkpoint.prev.pt"  # the checkpoint before the latest: the fallback (issue 13 §5)


def previous_checkpoint(path: Path) -> Path:
    path = Path(path)
    return path.with_name(PREVIOUS) if path.name == CHECKPOINT else path.with_suffix(".prev.pt")


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> Path:
    """Atomic, keeping the checkpoint it replaces as ``checkpoint.prev.pt``: a checkpoint that
    turns out truncated or corrupt later still has a predecessor to resume from."""
    return atomic_write_bytes(
        path, lambda fh: torch.save(dict(payload), fh), keep_previous=previous_checkpoint(path)
    )


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not what the caller expected."""


class CorruptCheckpoint(CheckpointError):
    """The file is there but cannot be read back (truncated, overwritten, not a torch file)."""


def _legacy_globals() -> list[Any]:
    """What checkpoints before 14§7 pickled besides tensors: numpy's RNG state (arrays, dtypes).
    Allow-listed for weights_only=True loading; nothing there can run code."""
    core = getattr(np, "_core", None) or np.core
    return [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype,
            *(type(np.dtype(t)) for t in ("uint32", "float64", "int64", "float32"))]


def torch_load(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True`` (a planted file cannot run code, issue 14 §7)."""
    with torch.serialization.safe_globals(_legacy_globals()):
        return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(path: Path, expect_stage: str | None = None) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch_load(path)
    except Exception as exc:  # truncated / corrupt / not a plain-data file: say which file
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt or unreadable: {exc}") from exc
    if not isinstance(payload, dict) or "config" not in payload or "stage" not in payload:
        raise CorruptCheckpoint(f"{path} is not an ncsweep checkpoint (no config/stage)")
    if expect_stage and payload["stage"] != expect_stage:
        raise CheckpointError(
            f"{path} is a {payload['stage']!r} checkpoint, expected {expect_stage!r}"
        )
    return payload


def relative_ref(target: str | Path, base: Path) -> str:
    """A reference stored in a checkpoint: relative to the run directory ``base`` when both lie
    in one storage tree, so a moved or copied storage still resolves it (issue 13 §5)."""
    target, base = Path(target).resolve(), Path(base).resolve()
    try:
        return os.path.relpath(target, base)
    except ValueError:  # another drive (Windows): keep it absolute
        return str(target)


def resolve_ref(ref: str | Path, base: Path) -> Path:
    """The inverse of :func:`relative_ref` (an absolute ``ref`` of an older checkpoint as is)."""
    ref = Path(ref)
    return ref if ref.is_absolute() else (Path(base) / ref).resolve()


def missing_metrics(stage: str, metrics: Mapping[str, Any]) -> list[str]:
    """The metrics ``stage`` promises that ``metrics`` lacks or holds as NaN (issue 13 §1)."""
    from ncsweep.stages import STAGES

    return STAGES[stage].missing(metrics) if stage in STAGES else []


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


def config_mismatch(
    saved: Mapping[str, Any],
    now: Mapping[str, Any],
    free: Collection[Any] = RESUME_FREE,
    saved_as: str = "checkpoint",
) -> list[str]:
    """Dotted keys where a checkpoint's config dict differs from ``now`` (where-to-run keys and
    the ``free`` sections aside); ``saved_as`` names the saved side in each line."""
    diffs = []
    for section, values in now.items():
        if section in free:
            continue
        for key, value in values.items() if isinstance(values, dict) else [(None, values)]:
            if (section, key) in free:
                continue
            old = saved.get(section, {}).get(key) if key else saved.get(section)
            if old != value:
                name = f"{section}.{key}" if key else section
                diffs.append(f"{name}: {saved_as} {old!r} vs config {value!r}")
    return diffs


def resume_free(stage: str) -> frozenset[Any]:
    """What may differ on resume: the where-not-what keys, and the sections that stand for a
    dependency (stage 2's ``stage1`` path: a moved storage changes it, the key does not)."""
    from ncsweep.stages import STAGES

    refs = STAGES[stage].reference if stage in STAGES else ()
    return RESUME_FREE | frozenset(refs)


def _comparable(stage: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``config`` without the late fields that hold their default, as trial keys see it: a
    checkpoint written before a field existed resumes under a config that leaves it alone."""
    from ncsweep.config.base import without_late_defaults
    from ncsweep.stages import STAGES

    if stage not in STAGES:
        return config
    return without_late_defaults(STAGES[stage].config_class, config, STAGES[stage].config_section)


def stage_config_mismatch(
    stage: str,
    saved: Mapping[str, Any],
    now: Mapping[str, Any],
    also_free: Collection[Any] = (),
    saved_as: str = "checkpoint",
) -> list[str]:
    """What keeps a run saved with ``saved`` from standing for one configured as ``now``: the
    differences a resume refuses (late fields at their default and ``resume_free`` keys aside,
    and ``also_free``)."""
    return config_mismatch(
        _comparable(stage, saved),
        _comparable(stage, now),
        resume_free(stage) | frozenset(also_free),
        saved_as,
    )


def restore_trainer(trainer: Any, path: Path, now_config: Mapping[str, Any]) -> dict[str, Any]:
    """Load model, optimizer, schedule, RNG and progress of ``trainer`` from its checkpoint.

    Refuses a checkpoint trained with another config (a resumed run never mixes two studies).
    """
    payload = load_checkpoint(Path(path), expect_stage=trainer.stage)
    diffs = stage_config_mismatch(trainer.stage, payload["config"], now_config)
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


def reset_history(out_dir: Path) -> None:
    """A run that starts over drops the lines of an attempt that never checkpointed (a worker
    killed before its first checkpoint would otherwise leave a duplicate epoch, issue 13 §6)."""
    (Path(out_dir) / HISTORY).unlink(missing_ok=True)


def train_to_end(trainer: Any, report: Report | None, resume: bool) -> None:
    """The loop both stages share: resume from ``out_dir``'s newest readable checkpoint (or
    start clean), record the config, train the remaining epochs, reporting each through
    ``report``."""
    out = trainer.out_dir
    if resume:
        note = trainer.resume_latest()
        if note:
            print(f"ncsweep: {out}: {note}", flush=True)
    else:
        reset_history(out)
    write_config(out, to_dict(trainer.cfg))
    while not trainer.done:
        metrics = trainer.train_epoch()
        if report:
            report(metrics)


# Series x length per inference pass through the stage-1 model, per device type (issue 15). A
# GPU wants large batches; on a CPU the activations must stay in cache: at L = 1024 one thread
# validates 2x faster at 32 series than at 512 (2.1 vs 4.1 ms per series).
EVAL_ELEMENTS = {"cuda": 2**19, "cpu": 2**15}


def inference_batch(device: torch.device, length: int) -> int:
    """Series of ``length`` per forward pass without a backward: 16 to 4096."""
    budget = EVAL_ELEMENTS["cuda" if device.type == "cuda" else "cpu"]
    return max(16, min(4096, budget // length))
