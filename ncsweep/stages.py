"""The study's stages: ONE registry, ``STAGES``, name → :class:`Stage` (timm's ``_registry`` idea).

Everything that differs between the FCN evaluator, stage 1 (the VQ-VAE tokenizer) and stage 2
(the MaskGIT prior) is a field of its entry; every other module asks the registry instead of
comparing stage names. A fourth stage (say, a second evaluator) is one more entry plus its trainer
(a subclass of ``ncsweep.train.base.Trainer``). Pure data and dict work here: no torch, no Ray,
no MLflow, so ``study/`` and the CLI can import it cheaply; the trainer is imported by dotted name
only when a trial runs.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncsweep.config import EvaluatorConfig, Stage1Config, Stage2Config, from_dict

# (section, key) pairs that say where or how a trial runs, not what it computes: left out of a
# trial's key (study/expand.py) and free to differ when a checkpoint is resumed (train/base.py),
# so moving the data or the cluster neither changes a key nor blocks a valid resume.
WHERE_NOT_WHAT = frozenset(
    {
        ("data", "root"),
        ("run", "device"),
        ("run", "num_threads"),
        ("evaluator", "cache_dir"),
    }
)


@dataclass(frozen=True)
class Place:
    """Where a study lives, as the runtime patches need it (filled in by ``sweep/driver.py``)."""

    evaluators: Path  # the shared FCN cache, <storage>/evaluators
    trial_dir: Callable[[str], Path]  # trial key → its run directory


Patch = Callable[[dict, Any, Place], None]  # (config dict, trial, place) → None, in place


def _evaluator_cache(cfg: dict, trial: Any, place: Place) -> None:
    cfg["evaluator"]["cache_dir"] = str(place.evaluators)


def _stage1_dir(cfg: dict, trial: Any, place: Place) -> None:
    # the explicit reference to the tokenizer (STYLE: never rebuilt from the config)
    cfg["stage1"] = str(place.trial_dir(trial.depends_on[0]))


def _threads(cfg: dict, trial: Any, place: Place) -> None:
    cfg["run"]["num_threads"] = max(1, int(trial.resources.get("cpu", 1)))


@dataclass(frozen=True)
class Stage:
    """One stage of the study.

    ``config_class`` types the trial's config; when ``config_section`` is set the class types only
    that section and the trial's config is ``{data: {dataset, root}, <section>: {...}}`` (the
    evaluator). ``optim_section`` holds ``epochs`` and ``batch_size``. ``depends_on`` names the
    stages a trial of this stage waits for, in the order of ``Trial.depends_on``. ``reference``
    names config sections that a dependency's key stands for in this stage's key (stage 2's
    checkpoint path). ``patches`` fill in, at run time, what depends on where the study lives.
    """

    name: str
    config_class: type
    key_prefix: str
    optim_section: str = "optim"
    config_section: str | None = None
    depends_on: tuple[str, ...] = ()
    grid: bool = False  # its trials come from the search space's grid (others follow from deps)
    where_not_what: frozenset[tuple[str, str]] = WHERE_NOT_WHAT
    reference: tuple[str, ...] = ()
    patches: tuple[Patch, ...] = ()
    trainer: str = ""  # "module:Class", imported lazily by :meth:`trainer_class`
    checkpointed: bool = True  # False: the trainer keeps its own cache, nothing to resume
    device_from_config: bool = True  # False: always "auto" (whatever Ray gave the trial)
    timing_kinds: tuple[str, ...] = ("-",)  # the ``ssl`` values of its timings entries
    samples: bool = False  # ends with the generative evaluation (spec §3: IS/FID/CAS samples)
    final_metrics: tuple[str, ...] = field(default=())  # the metrics.json keys tables read
    # Bumped when the stage's code changes what a trial computes at the same config, so a stored
    # study's old trials are not taken for new ones (their keys change; ``run`` then refuses to
    # mix them). "" hashes as before. stage1 "2": the thesis' decoder (issue 11 §1).
    revision: str = ""

    def epochs(self, config: Mapping[str, Any]) -> int:
        return int(config[self.optim_section]["epochs"])

    def batch_size(self, config: Mapping[str, Any]) -> int:
        return int(config[self.optim_section]["batch_size"])

    def ssl_kind(self, ssl: str | None) -> str:
        """The ``ssl`` value of this stage's timings entry for a trial with SSL method ``ssl``."""
        return (ssl or "none") if len(self.timing_kinds) > 1 else self.timing_kinds[0]

    def sections(self) -> set[str]:
        """Top-level sections of this stage's config dict that ``defaults`` may set."""
        import dataclasses

        if self.config_section:
            return {self.config_section}
        return {f.name for f in dataclasses.fields(self.config_class)}

    def typed_config(self, config: Mapping[str, Any], source: str = "<dict>") -> Any:
        """A trial's config dict → the typed config its trainer takes."""
        if self.config_section:
            sub = from_dict(self.config_class, config[self.config_section], source)
            return dict(config["data"]), sub
        return from_dict(self.config_class, config, source)

    def check(self, overrides: Mapping[str, Any]) -> Any:
        """Build the typed config (or section) from overrides: unknown keys raise ConfigError."""
        return from_dict(self.config_class, overrides)

    def runtime_config(self, config: dict, trial: Any, place: Place) -> dict:
        for patch in self.patches:
            patch(config, trial, place)
        return config

    def missing(self, metrics: Mapping[str, Any]) -> list[str]:
        """The promised ``final_metrics`` that ``metrics`` lacks or holds as NaN/inf: a run with
        any is not finished, whatever its epoch count says (issue 13 §1)."""
        return [k for k in self.final_metrics if not _finite(metrics.get(k))]

    def trainer_class(self) -> type:
        module, _, name = self.trainer.partition(":")
        return getattr(importlib.import_module(module), name)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


_S1_METRICS = ("val_recon", "knn_acc", "svm_acc", "perplexity", "codebook_usage")
_S2_METRICS = ("fid", "is_mean", "is_std", "cas", "evaluator_acc", "val_prior_loss")

# Insertion order is the study's topological order (a stage after those it depends on).
STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            "evaluator",
            EvaluatorConfig,
            key_prefix="ev",
            optim_section="evaluator",
            config_section="evaluator",
            patches=(_evaluator_cache,),
            trainer="ncsweep.train.evaluator_trainer:EvaluatorTrainer",
            checkpointed=False,
            device_from_config=False,
            final_metrics=("evaluator_acc",),
        ),
        Stage(
            "stage1",
            Stage1Config,
            key_prefix="s1",
            grid=True,
            patches=(_threads,),
            trainer="ncsweep.train.stage1:Stage1Trainer",
            revision="2",
            timing_kinds=("none", "barlowtwins", "vibcreg"),
            final_metrics=_S1_METRICS,
        ),
        Stage(
            "stage2",
            Stage2Config,
            key_prefix="s2",
            depends_on=("stage1", "evaluator"),
            reference=("stage1",),
            samples=True,
            patches=(_evaluator_cache, _stage1_dir, _threads),
            trainer="ncsweep.train.stage2:Stage2Trainer",
            final_metrics=_S2_METRICS,
        ),
    )
}


def stage(name: str) -> Stage:
    """The registry entry of ``name``; an unknown name is one clear error listing the known."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r} (known: {', '.join(STAGES)})") from None


def grid_stage() -> Stage:
    """The stage whose trials the search space's grid spells out (stage 1)."""
    return next(s for s in STAGES.values() if s.grid)


__all__ = ["STAGES", "WHERE_NOT_WHAT", "Place", "Stage", "grid_stage", "stage"]
