"""A :class:`SearchSpace` → the study's trials (:class:`TrialSpec`), with stable keys.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncsweep.config import ConfigError, deep_merge, from_dict, to_dict
from ncsweep.study.space import STAGE_CLASSES, SearchSpace, StageSpec, defaults_for

# (section, key) pairs that do not change what a trial computes (same as train.stage1's resume rule)
_WHERE_NOT_WHAT = {
    ("data", "root"),
    ("run", "device"),
    ("run", "num_threads"),
    ("evaluator", "cache_dir"),
}
STAGES = ("evaluator", "stage1", "stage2")


@dataclass(frozen=True)
class TrialSpec:
    key: str
    stage: str  # evaluator | stage1 | stage2
    config: dict[str, Any]  # resolved nested dict for the stage's config (see config_for)
    depends_on: tuple[str, ...] = ()
    resources: dict[str, float] = field(default_factory=lambda: {"gpu": 1.0, "cpu": 1.0})
    labels: dict[str, Any] = field(default_factory=dict)
    epochs_per_step: int = 1

    @property
    def epochs(self) -> int:
        if self.stage == "evaluator":
            return int(self.config["evaluator"]["epochs"])
        return int(self.config["optim"]["epochs"])

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


def _canonical(config: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for section, value in config.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if (section, k) not in _WHERE_NOT_WHAT}
        if section != "stage1":  # stage 2's checkpoint path: the stage-1 key stands for it
            out[section] = value
    return out


def config_hash(config: dict[str, Any], *extra: str) -> str:
    blob = json.dumps([_canonical(config), list(extra)], sort_keys=True, separators=(",", ":"))
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


def _resolve(cls_name: str, merged: dict[str, Any], where: str, problems: list[str]) -> dict:
    try:
        return to_dict(from_dict(STAGE_CLASSES[cls_name], merged))
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
    recipe = deep_merge(space.defaults.get("evaluator", {}), space.evaluator.config)
    recipe = _resolve("evaluator", recipe, "evaluator.config", problems)
    root = _stage1_base(space).get("data", {}).get("root")
    out = {}
    for ds in space.datasets:
        cfg = {"data": {"dataset": ds, "root": root}, "evaluator": recipe}
        _abs_root(cfg)
        key = f"ev-{ds}-{config_hash(cfg)}"
        labels = {"dataset": ds, "ssl": None, "augmentation": None, "zeta": None, "seed": None}
        epochs = recipe.get("epochs", 1)
        out[ds] = TrialSpec(key, "evaluator", cfg, (), space.evaluator.resources, labels, epochs)
    return out


def _stage1_base(space: SearchSpace) -> dict[str, Any]:
    return deep_merge(defaults_for("stage1", space.defaults), space.stage1.config)


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
                cfg = _resolve("stage1", merged, where, problems)
                if not cfg:
                    continue
                _abs_root(cfg)
                zeta = cfg["ssl"]["zeta"] if v["ssl"] != "none" else None
                labels = {"dataset": ds, "ssl": v["ssl"], "augmentation": v["augmentation"]}
                labels.update(zeta=zeta, seed=seed)
                key = f"s1-{_variant_tag(labels)}-{config_hash(cfg)}"
                eps = _epochs_per_step(space.stage1, cfg["optim"]["epochs"])
                out.append(TrialSpec(key, "stage1", cfg, (), space.stage1.resources, labels, eps))
    return out


def _stage2(space: SearchSpace, s1: TrialSpec, ev: TrialSpec, problems: list[str]) -> TrialSpec:
    stage = space.stage2
    assert stage is not None
    base = deep_merge(defaults_for("stage2", space.defaults), stage.config)
    # the same recipe as the evaluator trial, so stage 2 finds the FCN that trial cached
    base = deep_merge(base, {"evaluator": ev.config["evaluator"]})
    base = deep_merge(base, {"dataset": s1.labels["dataset"], "run": {"seed": s1.labels["seed"]}})
    cfg = _resolve("stage2", base, "stage2.config", problems)
    if not cfg:
        return None  # type: ignore[return-value]
    key = f"s2-{_variant_tag(s1.labels)}-{config_hash(cfg, s1.key)}"
    eps = _epochs_per_step(stage, cfg["optim"]["epochs"])
    deps = (s1.key, ev.key)
    return TrialSpec(key, "stage2", cfg, deps, stage.resources, dict(s1.labels), eps)


def expand(space: SearchSpace) -> list[TrialSpec]:
    """Every trial of the study: evaluators, then stage 1, then stage 2 (a topological order)."""
    problems: list[str] = []
    stage1 = _stage1(space, problems)
    trials: list[TrialSpec] = []
    if space.stage2 is not None:
        evaluators = _evaluators(space, problems)
        trials += list(evaluators.values()) + stage1
        trials += [_stage2(space, s1, evaluators[s1.labels["dataset"]], problems) for s1 in stage1]
    else:
        trials += stage1
    if not stage1 and not problems:
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
