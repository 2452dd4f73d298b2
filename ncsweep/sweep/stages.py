"""Stage name → a Trainer for one trial's run directory, through the ``ncsweep.stages`` registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ncsweep.stages import STAGES


def typed_config(stage: str, config: dict[str, Any], source: str) -> Any:
    """Ray's dict → the typed config (the evaluator's is {data: {dataset, root}, evaluator})."""
    return STAGES[stage].typed_config(config, source)


def make_trainer(stage: str, cfg: Any, out_dir: Path, device: str) -> Any:
    """The stage's ``ncsweep.train.base.Trainer`` subclass, imported by its registered name."""
    return STAGES[stage].trainer_class()(cfg, out_dir, device)
