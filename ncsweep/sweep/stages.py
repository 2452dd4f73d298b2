"""Stage name → a Trainer for one trial's run directory, through the ``ncsweep.stages`` registry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ncsweep.config import EvaluatorConfig
from ncsweep.stages import STAGES


def typed_config(stage: str, config: dict[str, Any], source: str) -> Any:
    """Ray's dict → the typed config (the evaluator's is {data: {dataset, root}, evaluator})."""
    return STAGES[stage].typed_config(config, source)


class EvaluatorRun:
    """The FCN evaluator of one dataset as a one-step Trainer: ``get_evaluator`` trains it into
    the shared cache (``<storage>/evaluators``) under a file lock, or finds it there."""

    stage = "evaluator"

    def __init__(self, cfg: tuple[dict, EvaluatorConfig], out_dir: Path, device: str):
        self.data, self.cfg = cfg
        self.out_dir, self.device = Path(out_dir), device
        self.epoch, self.info = 0, {}

    @property
    def done(self) -> bool:
        return self.epoch >= self.cfg.epochs

    def train_epoch(self) -> dict[str, float]:
        from ncsweep.data import load_ucr
        from ncsweep.train.common import METRICS, write_json
        from ncsweep.train.evaluator import get_evaluator

        start = time.perf_counter()
        ds = load_ucr(self.data["dataset"], self.data.get("root"))
        _, self.info = get_evaluator(ds, self.cfg, device=self.device)
        self.epoch = self.cfg.epochs
        self.info["wall"] = time.perf_counter() - start
        write_json(self.out_dir / METRICS, self.final_metrics())
        return {"epoch": self.epoch, "evaluator_acc": self.info["test_acc"]}

    def final_metrics(self) -> dict[str, float]:
        return {
            "evaluator_acc": float(self.info.get("test_acc", float("nan"))),
            "epochs": self.epoch,
            "seconds": float(self.info.get("seconds", 0.0)),
            "cache_path": self.info.get("path"),
            "trained_here": bool(self.info.get("trained", False)),
        }

    def save(self, path: Path | None = None) -> Path | None:
        return None  # the cache entry is the checkpoint

    def load(self, path: Path) -> None:
        return None


def make_trainer(stage: str, cfg: Any, out_dir: Path, device: str) -> Any:
    return STAGES[stage].trainer_class()(cfg, out_dir, device)
