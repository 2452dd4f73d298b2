"""The FCN evaluator of one dataset (spec §3) as a one-epoch :class:`Trainer` of the study."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ncsweep.config import EvaluatorConfig
from ncsweep.train.base import Trainer


class EvaluatorTrainer(Trainer):
    """``get_evaluator`` trains the FCN into the shared cache (``<storage>/evaluators``) under a
    file lock, or finds it there; its one "epoch" is that whole call. The cache entry is the
    checkpoint: ``save`` and ``load`` have nothing to do, a rerun finds the entry."""

    stage = "evaluator"

    def __init__(self, cfg: tuple[dict, EvaluatorConfig], out_dir: str | Path, device: str):
        # no super().__init__: no model, optimizer or RNG of its own (get_evaluator seeds)
        self.data, self.cfg = cfg
        self.out_dir, self.device = Path(out_dir), device
        self.epoch, self.seconds, self.info = 0, 0.0, {}
        self.last: dict[str, Any] = {}

    @property
    def done(self) -> bool:
        return self.epoch >= self.cfg.epochs

    def train_epoch(self) -> dict[str, float]:
        from ncsweep.data import load_ucr
        from ncsweep.train.evaluator import get_evaluator

        start = time.perf_counter()
        ds = load_ucr(self.data["dataset"], self.data.get("root"))
        _, self.info = get_evaluator(ds, self.cfg, device=self.device)
        self.epoch = self.cfg.epochs
        self.info["wall"] = time.perf_counter() - start
        self.write_metrics()
        return {"epoch": self.epoch, "evaluator_acc": self.info["test_acc"]}

    def final_metrics(self) -> dict[str, Any]:
        return {
            "evaluator_acc": float(self.info.get("test_acc", float("nan"))),
            "epochs": self.epoch,
            "seconds": float(self.info.get("seconds", 0.0)),
            "cache_path": self.info.get("path"),
            "trained_here": bool(self.info.get("trained", False)),
        }

    def save(self, path: str | Path | None = None) -> None:
        return None

    def load(self, path: str | Path) -> None:
        return None
