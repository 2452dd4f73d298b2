"""The one base class of every stage's trainer (``ncsweep.stages.STAGES[...].trainer``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ncsweep.config import to_dict
from ncsweep.train.common import (
    CHECKPOINT,
    METRICS,
    CorruptCheckpoint,
    Report,
    append_history,
    make_optimizer,
    missing_metrics,
    previous_checkpoint,
    reset_history,
    resolve_device,
    restore_trainer,
    rng_state,
    save_checkpoint,
    set_seed,
    train_to_end,
    write_json,
)


class Trainer:
    """One run of one stage in ``out_dir``, on one device; no Ray, no MLflow.

    The protocol (what ``sweep/trainables.py``, ``run`` and the CLI rely on), as optuna's
    ``BaseSampler`` documents its own:

    - ``stage``: the trainer's name in ``ncsweep.stages.STAGES``; its checkpoints carry it.
    - ``done``: True once ``epoch`` has reached the configured epochs. ``epoch`` counts the
      epochs trained so far (restored by ``load``), ``seconds`` the time they took.
    - ``train_epoch()``: train one epoch, validate, append a line to ``history.jsonl``, checkpoint
      when due (always after the last epoch), and return that epoch's metrics (``epoch`` and
      ``seconds`` among them). Once ``done`` it has also written ``metrics.json``.
    - ``save(path=None)`` / ``load(path)``: the full state (model, optimizer, schedule, RNG,
      progress) to ``out_dir/checkpoint.pt`` and back; ``load`` refuses a checkpoint trained with
      another config, the where-not-what keys of the stage registry aside.
    - ``final_metrics()``: the flat dict that ``metrics.json`` holds and MLflow logs at the end.
      ``write_metrics()`` is the one writer of ``metrics.json``.
    - ``scored``: every metric the stage promises (``STAGES[stage].final_metrics``) is present
      and finite; ``score(report)`` finishes a trained-but-unscored run (a kill inside stage 2's
      evaluation window) and rewrites ``metrics.json``. A trial is done only once ``scored``.
    - ``figures()``: name → matplotlib figure for the finished run (never drawn in ``forward``);
      ``{}`` when the stage has none.

    A subclass builds ``model`` and calls :meth:`_optimizer` in its ``__init__``, implements
    ``train_epoch`` and ``final_metrics``, and may add to the checkpoint through
    :meth:`checkpoint_refs` (references, stored after the config) and :meth:`checkpoint_meta`.
    """

    stage = ""

    def __init__(self, cfg: Any, out_dir: str | Path, device: str | None = None):
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.device = resolve_device(device or cfg.run.device)
        if cfg.run.num_threads > 0:
            torch.set_num_threads(cfg.run.num_threads)
        self.generator = set_seed(cfg.run.seed)
        self.epoch, self.seconds = 0, 0.0
        self.last: dict[str, Any] = {}

    def _optimizer(self, steps_per_epoch: int) -> None:
        """AdamW with a per-step cosine schedule over the whole run (both stages, spec §1-2)."""
        optim = self.cfg.optim
        self.steps_per_epoch = steps_per_epoch
        self.optimizer, self.scheduler = make_optimizer(
            self.model.parameters(), optim.lr, optim.weight_decay, optim.epochs * steps_per_epoch
        )

    # -- the protocol -----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.epoch >= self.cfg.optim.epochs

    def train_epoch(self) -> dict[str, float]:
        raise NotImplementedError

    def final_metrics(self) -> dict[str, Any]:
        raise NotImplementedError

    def figures(self) -> dict[str, Any]:
        return {}

    @property
    def scored(self) -> bool:
        return self.done and not missing_metrics(self.stage, self.final_metrics())

    def score(self, report: Report | None = None) -> dict[str, Any]:
        """After the last epoch: whatever evaluation is still missing, then ``metrics.json``."""
        self.after_training(report)
        return self.write_metrics()

    def write_metrics(self) -> dict[str, Any]:
        final = self.final_metrics()
        write_json(self.out_dir / METRICS, final)
        return final

    def _begin_epoch(self) -> float:
        return time.perf_counter()

    def _end_epoch(self, start: float, metrics: dict[str, float]) -> dict[str, float]:
        """Bookkeeping after an epoch: time, ``last``, history, the due checkpoint."""
        self.seconds += time.perf_counter() - start
        metrics["seconds"] = self.seconds
        self.last.update(metrics)
        append_history(self.out_dir, metrics)
        every = self.cfg.run.checkpoint_every
        if self.done or (every > 0 and self.epoch % every == 0):
            self.save()
        return metrics

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_refs(self) -> dict[str, Any]:
        return {}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {}

    def save(self, path: str | Path | None = None) -> Path | None:
        payload = {
            "stage": self.stage,
            "config": to_dict(self.cfg),
            **self.checkpoint_refs(),
            "epoch": self.epoch,
            "seconds": self.seconds,
            "last": dict(self.last),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(self.generator),
            **self.checkpoint_meta(),
        }
        return save_checkpoint(Path(path) if path else self.out_dir / CHECKPOINT, payload)

    def load(self, path: str | Path) -> None:
        restore_trainer(self, Path(path), to_dict(self.cfg))

    def resume_latest(self) -> str | None:
        """Resume from ``out_dir``'s newest readable checkpoint: ``checkpoint.pt``, else the one
        it replaced; with neither readable, start over (issue 13 §5). A checkpoint that does not
        load is set aside as ``*.corrupt``. Returns what happened when it was not the plain
        case (the caller says so), else None. A config mismatch still refuses (no fallback)."""
        latest = self.out_dir / CHECKPOINT
        notes: list[str] = []
        for path in (latest, previous_checkpoint(latest)):
            if not path.is_file():
                continue
            try:
                self.load(path)
            except CorruptCheckpoint as exc:
                path.replace(path.with_name(path.name + ".corrupt"))
                notes.append(f"{exc} (set aside as {path.name}.corrupt)")
                continue
            if notes:
                notes.append(f"resumed from {path.name} at epoch {self.epoch}")
            return "; ".join(notes) or None
        reset_history(self.out_dir)
        if notes:
            notes.append("no readable checkpoint left: starting over from epoch 0")
        return "; ".join(notes) or None

    # -- the whole loop (CLI, Python shells) ------------------------------------------------
    def run(self, report: Report | None = None, resume: bool = True) -> dict[str, Any]:
        """Train (or finish) the run, reporting each epoch; return the final metrics."""
        train_to_end(self, report, resume)
        return self.score(report)

    def after_training(self, report: Report | None) -> None:
        """What a resumed run must still do after its last epoch (stage 2: its evaluation)."""
