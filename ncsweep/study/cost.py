"""The whole-trial cost model (issue 15): a trial is more than its training epochs.

A timings file's ``trials`` section holds, per (dataset, stage, ssl kind), what
``benchmarks/trial_cost.py`` measured at the study config::

    {"dataset": "Mallat", "stage": "stage1", "ssl": "vibcreg",
     "epoch_s": 1.36, "val_s": 4.1, "probe_s": 0.6}

- ``epoch_s``: one training epoch over the dataset's train split.
- ``val_s``: one validation pass over the WHOLE test split; ``probe_s``: one probe pass (train
  features + KNN/SVM; the test features come from the validation of the same epoch).
- ``sample_s_per_kseries``: generating 1000 series (iterative decoding + stage-1 decoder) and the
  evaluator's features of them; ``cas_epoch_s``: one epoch of the CAS FCN on its synthetic set.
- ``score_s``: what runs once per trial (building the trainer, tokenising; the evaluator's test
  pass; stage 2's FID/IS scoring and the CAS accuracy on the real test split).
- ``save_s``: one checkpoint (model, optimizer, RNG), written every ``run.checkpoint_every``
  epochs and after the last.

A trial of E epochs then costs E·epoch_s + n_val·val_s + n_probe·probe_s (the passes its
``run.val_every`` / ``run.eval_every`` cadence makes, ``RunConfig.validations``) + for a stage
that samples: (n_fid + n_cas)/1000·sample_s_per_kseries + cas_epochs·cas_epoch_s, + score_s.
Pure arithmetic: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ncsweep.config import from_dict
from ncsweep.config.stage1 import RunConfig
from ncsweep.stages import STAGES

FIELDS = ("epoch_s", "val_s", "probe_s", "sample_s_per_kseries", "cas_epoch_s", "score_s", "save_s")


@dataclass(frozen=True)
class Part:
    """What one (dataset, stage, ssl kind) costs at the study config, in seconds."""

    dataset: str
    stage: str
    ssl: str
    epoch_s: float
    val_s: float = 0.0
    probe_s: float = 0.0
    sample_s_per_kseries: float = 0.0
    cas_epoch_s: float = 0.0
    score_s: float = 0.0
    save_s: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dataset, self.stage, self.ssl)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset": self.dataset, "stage": self.stage, "ssl": self.ssl}
        return out | {f: getattr(self, f) for f in FIELDS if getattr(self, f) or f == "epoch_s"}


def parse_part(raw: Any, where: str, problems: list[str]) -> Part | None:
    """One ``trials`` item, or None with the reasons appended to ``problems``."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object, got {type(raw).__name__}")
        return None
    n = len(problems)
    known = {"dataset", "stage", "ssl", *FIELDS}
    problems += [f"{where}: unknown key {k!r}" for k in sorted(set(raw) - known)]
    stage, ssl = raw.get("stage"), raw.get("ssl")
    if not isinstance(raw.get("dataset"), str) or not raw.get("dataset"):
        problems.append(f"{where}: dataset must be a non-empty string, got {raw.get('dataset')!r}")
    if stage not in STAGES:
        problems.append(f"{where}: stage must be one of {sorted(STAGES)}, got {stage!r}")
    elif ssl not in STAGES[stage].timing_kinds:
        kinds = STAGES[stage].timing_kinds
        problems.append(f"{where}: ssl for {stage} must be one of {kinds}, got {ssl!r}")
    if "epoch_s" not in raw:
        problems.append(f"{where}: epoch_s is required")
    for f in FIELDS:
        v = raw.get(f, 0.0)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or v < 0:
            problems.append(f"{where}: {f} must be a number >= 0, got {v!r}")
    if len(problems) > n:
        return None
    return Part(raw["dataset"], stage, ssl, **{f: float(raw.get(f, 0.0)) for f in FIELDS})


def passes(stage: str, config: dict[str, Any], epochs: int) -> tuple[int, int]:
    """(validation passes, probe passes) a trial's ``run`` cadence makes over ``epochs``."""
    if "run" not in config:
        return 0, 0
    return from_dict(RunConfig, config["run"], source=f"{stage}.run").validations(epochs)


def generated(config: dict[str, Any], n_train: int, n_test: int) -> tuple[int, int]:
    """(FID/IS samples, CAS samples) of a stage that samples (spec §3)."""
    gen = config["eval"]
    return gen["n_fid"] or n_test, max(gen["cas_min_samples"], n_train)


def trial_parts(
    part: Part, stage: str, config: dict[str, Any], epochs: int, n_train: int, n_test: int
) -> dict[str, float]:
    """Seconds of one whole trial split into ``train`` (its epochs' steps) and ``eval``
    (validation, probes, sampling, the CAS FCN, scoring); checkpoints count as training."""
    n_val, n_probe = passes(stage, config, epochs)
    every = config.get("run", {}).get("checkpoint_every", 0)
    saves = (epochs // every + (epochs % every > 0) if every > 0 else 1) if "run" in config else 0
    evaluation = n_val * part.val_s + n_probe * part.probe_s + part.score_s
    if STAGES[stage].samples:
        n_fid, n_cas = generated(config, n_train, n_test)
        cas_epochs = config["eval"]["cas_epochs"]
        evaluation += (n_fid + n_cas) / 1000.0 * part.sample_s_per_kseries
        evaluation += cas_epochs * part.cas_epoch_s
    return {"train": epochs * part.epoch_s + saves * part.save_s, "eval": evaluation}


def find_part(parts: tuple[Part, ...], dataset: str, stage: str, ssl: str) -> Part | None:
    return next((p for p in parts if p.key == (dataset, stage, ssl)), None)
