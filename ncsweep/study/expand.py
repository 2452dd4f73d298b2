"""A :class:`SearchSpace` → the study's trials (:class:`Trial`), with stable keys.

One FCN evaluator per dataset (only when the study has stage 2), one stage-1 trial per grid point,
one stage-2 trial per stage-1 trial depending on it and on its dataset's evaluator.
A key is a readable prefix plus 8 hex digits of the hash of the resolved config, leaving out the
settings that say where or how a trial runs (data root, device, threads), so moving the data or
the cluster never changes a key. A stage-2 key also hashes its stage-1 key.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncsweep.config import ConfigError, deep_merge, to_dict
from ncsweep.config.base import without_late_defaults
from ncsweep.stages import STAGES, Stage
from ncsweep.study.space import SearchSpace, StageSpec, defaults_for

EVALUATOR, STAGE1, STAGE2 = STAGES["evaluator"], STAGES["stage1"], STAGES["stage2"]


@dataclass(frozen=True)
class Trial:
    """One trial of a study, typed and frozen from ``study/`` through ``sweep/`` (the searcher,
    the Ray trainable: it pickles) to ``tracking/`` (optuna's ``FrozenTrial``). ``to_dict`` is
    its JSON form in the ledger's plan; :meth:`from_dict` reads it back."""

    key: str
    stage: str  # a name of ncsweep.stages.STAGES
    config: dict[str, Any]  # resolved nested dict for the stage's config (see config_for)
    depends_on: tuple[str, ...] = ()  # keys, in the order of STAGES[stage].depends_on
    resources: dict[str, float] = field(default_factory=lambda: {"gpu": 1.0, "cpu": 1.0})
    labels: dict[str, Any] = field(default_factory=dict)
    epochs_per_step: int = 1

    @property
    def epochs(self) -> int:
        return STAGES[self.stage].epochs(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "stage": self.stage,
            "config": self.config,
            "depends_on": list(self.depends_on),
            "resources": dict(self.resources),
            "labels": dict(self.labels),
            "epochs_per_step": self.epochs_per_step,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trial:
        return cls(
            d["key"],
            d["stage"],
            d["config"],
            tuple(d.get("depends_on", ())),
            dict(d.get("resources", {"gpu": 1.0, "cpu": 1.0})),
            dict(d.get("labels", {})),
            int(d.get("epochs_per_step", 1)),
        )

    def __getitem__(self, name: str) -> Any:
        """Read-only ``trial["key"]`` for callers written against the plan's JSON form."""
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)


TrialSpec = Trial  # the former name


def as_trial(t: Trial | Mapping[str, Any]) -> Trial:
    """A Trial, or the plan's JSON form of one (``Trial.to_dict``), as a Trial."""
    return t if isinstance(t, Trial) else Trial.from_dict(t)


def _canonical(config: dict[str, Any], stage: Stage) -> dict[str, Any]:
    out = {}
    # fields added since keys were first issued count only away from their default (config.base)
    config = without_late_defaults(stage.config_class, config, stage.config_section)
    for section, value in config.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if (section, k) not in stage.where_not_what}
        if section not in stage.reference:  # a dependency's key stands for it (stage 2's path)
            out[section] = value
    return out


def config_hash(config: dict[str, Any], *extra: str, stage: Stage = STAGE2) -> str:
    """8 hex digits of the canonical config (``stage`` says which keys are where, not what)."""
    extra = (*extra, f"revision={stage.revision}") if stage.revision else extra
    blob = json.dumps(
        [_canonical(config, stage), list(extra)], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def _zeta_tag(z: float) -> str:
    return f"z{z:g}"


def _variant_tag(labels: dict[str, Any]) -> str:
    parts = [labels["dataset"], labels["ssl"]]
    if labels["augmentation"]:
        parts.append(labels["augmentation"])
    if labels["ssl"] != "none" and labels["zeta"] is not None:
        parts.append(_zeta_tag(labels["zeta"]))
    return "-".join(parts + [f"seed{labels['seed']}"])


def _epochs_per_step(stage: StageSpec, epochs: int) -> int:
    # default: at most ~100 reports per trial; every report costs a Tune round-trip
    return stage.epochs_per_step or max(1, epochs // 100)


def _resolve(stage: Stage, merged: dict[str, Any], where: str, problems: list[str]) -> dict:
    try:
        return to_dict(stage.check(merged))
    except ConfigError as exc:
        problems.extend(f"{where}: {p}" for p in exc.problems)
        return {}


def _abs_root(cfg: dict[str, Any]) -> None:
    """A relative data root is relative to where the study was launched (trials chdir)."""
    root = cfg.get("data", {}).get("root")
    if root:
        cfg["data"]["root"] = str(Path(root).expanduser().absolute())


def _evaluators(space: SearchSpace, problems: list[str]) -> dict[str, TrialSpec]:
    """One FCN evaluator per dataset; its config = {data: {dataset, root}, evaluator: {...}}."""
    section = EVALUATOR.config_section
    recipe = deep_merge(space.defaults.get(section, {}), space.evaluator.config)
    recipe = _resolve(EVALUATOR, recipe, "evaluator.config", problems)
    root = _stage1_base(space).get("data", {}).get("root")
    out = {}
    for ds in space.datasets:
        cfg = {"data": {"dataset": ds, "root": root}, section: recipe}
        _abs_root(cfg)
        key = f"{EVALUATOR.key_prefix}-{ds}-{config_hash(cfg, stage=EVALUATOR)}"
        labels = {"dataset": ds, "ssl": None, "augmentation": None, "zeta": None, "seed": None}
        epochs = recipe.get("epochs", 1)  # one report: the evaluator trains in one step
        out[ds] = TrialSpec(key, EVALUATOR.name, cfg, (), space.evaluator.resources, labels, epochs)
    return out


def _stage1_base(space: SearchSpace) -> dict[str, Any]:
    return deep_merge(defaults_for(STAGE1.name, space.defaults), space.stage1.config)


def _stage1(space: SearchSpace, problems: list[str]) -> list[TrialSpec]:
    base = _stage1_base(space)
    out = []
    for ds in space.datasets:
        for v in space.variants:
            for seed in space.seeds:
                ssl = {"method": v["ssl"], "augmentation": v["augmentation"]}
                if v["zeta"] is not None:
                    ssl["zeta"] = v["zeta"]
                point = {"data": {"dataset": ds}, "ssl": ssl, "run": {"seed": seed}}
                merged = deep_merge(deep_merge(base, v.get("config") or {}), point)
                where = f"stage1 {ds} ssl={v['ssl']} augmentation={v['augmentation']}"
                cfg = _resolve(STAGE1, merged, where, problems)
                if not cfg:
                    continue
                _abs_root(cfg)
                zeta = cfg["ssl"]["zeta"] if v["ssl"] != "none" else None
                labels = {"dataset": ds, "ssl": v["ssl"], "augmentation": v["augmentation"]}
                labels.update(zeta=zeta, seed=seed)
                tag = f"{_variant_tag(labels)}-{config_hash(cfg, stage=STAGE1)}"
                key = f"{STAGE1.key_prefix}-{tag}"
                eps = _epochs_per_step(space.stage1, STAGE1.epochs(cfg))
                res = space.stage1.resources
                out.append(TrialSpec(key, STAGE1.name, cfg, (), res, labels, eps))
    return out


def _stage2(space: SearchSpace, s1: TrialSpec, ev: TrialSpec, problems: list[str]) -> TrialSpec:
    stage = space.stage2
    assert stage is not None
    base = deep_merge(defaults_for(STAGE2.name, space.defaults), stage.config)
    # the same recipe as the evaluator trial, so stage 2 finds the FCN that trial cached
    section = EVALUATOR.config_section
    base = deep_merge(base, {section: ev.config[section]})
    base = deep_merge(base, {"dataset": s1.labels["dataset"], "run": {"seed": s1.labels["seed"]}})
    cfg = _resolve(STAGE2, base, "stage2.config", problems)
    if not cfg:
        return None  # type: ignore[return-value]
    key = f"{STAGE2.key_prefix}-{_variant_tag(s1.labels)}-{config_hash(cfg, s1.key, stage=STAGE2)}"
    eps = _epochs_per_step(stage, STAGE2.epochs(cfg))
    by_stage = {STAGE1.name: s1.key, EVALUATOR.name: ev.key}
    deps = tuple(by_stage[d] for d in STAGE2.depends_on)
    return TrialSpec(key, STAGE2.name, cfg, deps, stage.resources, dict(s1.labels), eps)


def expand(space: SearchSpace) -> list[TrialSpec]:
    """Every trial of the study: evaluators, then stage 1, then stage 2 (a topological order)."""
    problems: list[str] = []
    # an adaptive search's stage-1 trials (and their stage 2) are made during the run
    stage1 = [] if space.search else _stage1(space, problems)
    trials: list[TrialSpec] = []
    if space.stage2 is not None:
        evaluators = _evaluators(space, problems)
        trials += list(evaluators.values()) + stage1
        trials += [_stage2(space, s1, evaluators[s1.labels["dataset"]], problems) for s1 in stage1]
    else:
        trials += stage1
    if not stage1 and not problems and not space.search:
        problems.append("stage1.grid: empty grid (expands to no trials)")
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)), space.source)
    counts = Counter(t.key for t in trials)
    dupes = sorted(k for k, n in counts.items() if n > 1)
    if dupes:
        raise ConfigError(
            [f"duplicate trial (listed twice in the grid): {k}" for k in dupes], space.source
        )
    return trials
