"""The adaptive ζ search (issue 17 §2): a ``stage1.search`` section instead of a ζ grid.

Format (see ``search_spaces/zeta_search.yaml``)::

    stage1:
      grid:                                  # the groups searched: dataset × ssl × augmentation
        dataset: [SonyAIBORobotSurface1, ...]
        seed: [0, 1]                         # cycled over a group's trials
        variants: [{ssl: [barlowtwins, vibcreg], augmentation: [warp, slice]}]   # no zeta here
      search:
        zeta: {low: 0.01, high: 0.5, log: true}
        trials: 8                            # stage-1 trials per group (the budget)
        searcher: {name: optuna_tpe, n_startup_trials: 3, seed: 0}
        scheduler: {name: asha, metric: svm_acc, mode: max, grace_period: 50,
                    reduction_factor: 3}

No stage-1 trial exists before the run: the sweep's searcher (``ncsweep/sweep/adaptive.py``) asks
Optuna's TPE for each trial's ζ and builds the trial here, with the grid's key rules, so a
searched trial is an ordinary stage-1 trial (same key scheme, config, labels) plus two labels
naming the searcher. ASHA compares a group's trials at rungs ``grace_period · rf^k`` epochs on
the metric the probes report every ``run.eval_every`` epochs. No Ray or Optuna import here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ncsweep.stages import STAGES, grid_stage

SEARCH_KEYS = {"zeta", "trials", "max_concurrent", "searcher", "scheduler"}
ZETA_KEYS = {"low", "high", "log"}
SEARCHER_KEYS = {"name", "n_startup_trials", "seed"}
SCHEDULER_KEYS = {"name", "metric", "mode", "grace_period", "reduction_factor"}
SEARCHERS = ("optuna_tpe",)
SCHEDULERS = ("asha",)
SEARCHER_LABEL = "optuna_tpe+asha"  # the ``searcher`` label (tag ncsweep.searcher) of its trials
STOP_REASON = "stopped early by ASHA at epoch {epoch} ({metric} {value:.4g} below the rung cutoff)"


@dataclass(frozen=True)
class SearchSpec:
    low: float = 0.01
    high: float = 0.5
    log: bool = True
    trials: int = 8  # per group
    max_concurrent: int | None = None  # per group; TPE learns only from trials that finished
    n_startup_trials: int = 3  # TPE samples at random until this many trials told it a value
    seed: int = 0
    metric: str = "svm_acc"  # a stage-1 per-epoch metric (probe epochs: run.eval_every)
    mode: str = "max"
    grace_period: int = 50  # epochs before the first rung
    reduction_factor: int = 3

    def rungs(self, max_t: int) -> list[int]:
        """The epochs where ASHA compares a group's trials (Tune's one-bracket ASHA formula)."""
        if max_t <= self.grace_period:
            return []
        n = int(math.log(max_t / self.grace_period) / math.log(self.reduction_factor) + 1)
        return [r for k in range(n) if (r := self.grace_period * self.reduction_factor**k) < max_t]


def _number(raw: Mapping, key: str, where: str, problems: list[str], kind=float, low=None):
    value = raw[key]
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if not ok or (low is not None and value < low):
        bound = f" >= {low}" if low is not None else ""
        problems.append(f"{where}.{key}: expected {'a number' if kind is float else 'an integer'}"
                        f"{bound}, got {value!r}")  # fmt: skip
        return None
    return kind(value)


def _section(raw: Any, keys: set[str], where: str, problems: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping, got {raw!r}")
        return {}
    for key in sorted(set(raw) - keys):
        problems.append(f"{where}.{key}: unknown key (known keys: {', '.join(sorted(keys))})")
    return {k: v for k, v in raw.items() if k in keys}


def _checked(raw: dict, spec: dict, where: str, problems: list[str], ints=(), low=None) -> None:
    for key in raw:
        if key in ("name", "mode", "metric", "log"):
            continue
        kind = int if key in ints else float
        value = _number(raw, key, where, problems, kind, (low or {}).get(key))
        if value is not None:
            spec[key] = value


def parse_search(raw: Any, stage1_config: Mapping[str, Any], epochs_per_step: int | None,
                 problems: list[str]) -> SearchSpec | None:  # fmt: skip
    """``stage1.search`` → a :class:`SearchSpec` (None when absent); problems are appended."""
    if raw is None:
        return None
    top = _section(raw, SEARCH_KEYS, "stage1.search", problems)
    spec: dict[str, Any] = {}
    zeta = _section(top.get("zeta"), ZETA_KEYS, "stage1.search.zeta", problems)
    _checked(zeta, spec, "stage1.search.zeta", problems, low={"low": 1e-12, "high": 1e-12})
    if "log" in zeta:
        spec["log"] = bool(zeta["log"])
    for key in ("trials", "max_concurrent"):
        if top.get(key) is not None:
            _checked({key: top[key]}, spec, "stage1.search", problems, (key,), {key: 1})
    searcher = _section(top.get("searcher"), SEARCHER_KEYS, "stage1.search.searcher", problems)
    _name(searcher, SEARCHERS, "stage1.search.searcher", problems)
    _checked(searcher, spec, "stage1.search.searcher", problems, ("n_startup_trials", "seed"),
             {"n_startup_trials": 0})  # fmt: skip
    sched = _section(top.get("scheduler"), SCHEDULER_KEYS, "stage1.search.scheduler", problems)
    _name(sched, SCHEDULERS, "stage1.search.scheduler", problems)
    _checked(sched, spec, "stage1.search.scheduler", problems,
             ("grace_period", "reduction_factor"), {"grace_period": 1, "reduction_factor": 2})  # fmt: skip
    spec.update({k: sched[k] for k in ("metric", "mode") if k in sched})
    if spec.get("mode", "max") not in ("min", "max"):
        problems.append(f"stage1.search.scheduler.mode: expected min or max, got {spec['mode']!r}")
    if spec.get("low", 0.01) >= spec.get("high", 0.5):
        problems.append("stage1.search.zeta: low must be below high")
    out = SearchSpec(**spec)
    _check_cadence(out, stage1_config, epochs_per_step, problems)
    return out


def _name(raw: dict, known: tuple[str, ...], where: str, problems: list[str]) -> None:
    if raw.get("name", known[0]) not in known:
        problems.append(f"{where}.name: unknown {raw['name']!r} (known: {', '.join(known)})")


def _check_cadence(spec: SearchSpec, cfg: Mapping, eps: int | None, problems: list[str]) -> None:
    """ASHA needs the metric in the report at each rung: rungs on probe epochs, each probe epoch
    the last of a Tune report (``epochs_per_step``)."""
    every = int((cfg.get("run") or {}).get("eval_every", 50))
    if every and spec.grace_period % every:
        problems.append(
            f"stage1.search.scheduler.grace_period: {spec.grace_period} is not a multiple of "
            f"stage1.config.run.eval_every ({every}): the metric is reported every {every} epochs"
        )
    if eps and every and every % eps:
        problems.append(
            f"stage1.epochs_per_step: {eps} does not divide run.eval_every ({every}): reports "
            "would miss the probe epochs ASHA compares trials at"
        )


def check_variants(variants: list[dict[str, Any]], problems: list[str]) -> None:
    """With a search, ζ comes from the searcher; the baseline has no ζ to search."""
    for v in variants:
        if v["zeta"] is not None:
            problems.append("stage1.grid.variants: zeta is searched (stage1.search.zeta): "
                            f"remove zeta {v['zeta']!r} from the variants")  # fmt: skip
        if v["ssl"] == "none":
            problems.append("stage1.grid.variants: ssl none has no ζ to search")


# -- trials (the searcher builds them one at a time) --------------------------------------
def groups(space) -> list[dict[str, Any]]:
    """The searched groups in a stable order: {dataset, ssl, augmentation, config}."""
    return [{"dataset": ds, **{k: v[k] for k in ("ssl", "augmentation", "config")}}
            for ds in space.datasets for v in space.variants]  # fmt: skip


def group_of(labels: Mapping[str, Any]) -> str:
    return f"{labels['dataset']}/{labels['ssl']}/{labels['augmentation']}"


def is_searched(trial) -> bool:
    """A stage-1 trial the search made (its stage 2 carries the same labels, but is not)."""
    return trial.stage == grid_stage().name and trial.labels.get("searcher") == SEARCHER_LABEL


def stage1_trial(space, group: Mapping[str, Any], zeta: float, index: int):
    """The ``index``-th searched trial of ``group`` at ``zeta`` (seeds cycled)."""
    from ncsweep.config import ConfigError
    from ncsweep.study.expand import _stage1

    seed = space.seeds[index % len(space.seeds)]
    variant = {"ssl": group["ssl"], "augmentation": group["augmentation"], "zeta": zeta,
               "config": group["config"]}  # fmt: skip
    one = dataclasses.replace(space, datasets=(group["dataset"],), seeds=(seed,),
                              variants=(variant,), search=None)  # fmt: skip
    problems: list[str] = []
    (trial,) = _stage1(one, problems) or (None,)
    if problems or trial is None:
        raise ConfigError(problems or ["no trial"], space.source)
    labels = {**trial.labels, "searcher": SEARCHER_LABEL, "search_trial": index}
    return dataclasses.replace(trial, labels=labels)


def stage2_trial(space, s1, evaluator):
    """The stage-2 trial of a searched stage-1 trial that survived (None without stage 2)."""
    from ncsweep.config import ConfigError
    from ncsweep.study.expand import _stage2

    if space.stage2 is None:
        return None
    problems: list[str] = []
    trial = _stage2(space, s1, evaluator, problems)
    if problems:
        raise ConfigError(problems, space.source)
    return trial


def round_zeta(z: float) -> float:
    """3 significant digits: readable keys and tags; far finer than ζ matters."""
    return float(f"{z:.3g}")


# -- the budget, for ``ncsweep plan`` -------------------------------------------------------
def budget(space, timings=None) -> dict[str, Any] | None:
    """The search's budget for ``ncsweep plan``; with measured ``timings`` also its worst case
    in GPU-hours (every trial to the end, and a stage 2 for each)."""
    spec: SearchSpec | None = getattr(space, "search", None)
    if spec is None:
        return None
    stage1 = STAGES["stage1"]
    from ncsweep.config import deep_merge
    from ncsweep.study.space import defaults_for

    base = deep_merge(defaults_for("stage1", space.defaults), space.stage1.config)
    epochs = stage1.epochs(_as_dict(stage1.check(base)))
    n_groups = len(groups(space))
    return {
        "zeta": {"low": spec.low, "high": spec.high, "log": spec.log},
        "searcher": {"name": "optuna_tpe", "n_startup_trials": spec.n_startup_trials,
                     "seed": spec.seed},  # fmt: skip
        "scheduler": {"name": "asha", "metric": spec.metric, "mode": spec.mode,
                      "grace_period": spec.grace_period,
                      "reduction_factor": spec.reduction_factor,
                      "rungs": spec.rungs(epochs), "max_t": epochs},  # fmt: skip
        "groups": n_groups,
        "trials_per_group": spec.trials,
        "max_concurrent_per_group": spec.max_concurrent,
        "max_trials": n_groups * spec.trials,
        "max_stage1_epochs": n_groups * spec.trials * epochs,
        "max_stage2": n_groups * spec.trials if space.stage2 is not None else 0,
        "max_gpu_hours": _max_hours(space, timings) if timings is not None else None,
    }


def _max_hours(space, timings) -> float | None:
    """GPU-hours if no trial stopped early: per group, one trial (ζ does not change its cost)
    and its stage 2, times the trials per group."""
    from ncsweep.study.expand import _evaluators
    from ncsweep.study.plan import trial_hours

    evaluators = _evaluators(space, []) if space.stage2 is not None else {}
    total = 0.0
    for group in groups(space):
        s1 = stage1_trial(space, group, space.search.low, 0)
        s2 = stage2_trial(space, s1, evaluators[group["dataset"]]) if evaluators else None
        for t in filter(None, (s1, s2)):
            hours, _ = trial_hours(t, timings)
            if hours is None:
                return None
            total += hours * t.resources.get("gpu", 0) * space.search.trials
    return total


def _as_dict(cfg: Any) -> dict[str, Any]:
    from ncsweep.config import to_dict

    return to_dict(cfg)


def render_budget(plan: Mapping[str, Any]) -> list[str]:
    """Lines of ``ncsweep plan`` for a search (instead of the grid's stage-1 trials)."""
    b = plan.get("search")
    if not b:
        return []
    z, sch = b["zeta"], b["scheduler"]
    scale = "log" if z["log"] else "linear"
    rungs = ", ".join(map(str, sch["rungs"])) or "none (grace_period >= epochs)"
    return [
        f"  adaptive ζ search: ζ in [{z['low']:g}, {z['high']:g}] ({scale} scale), "
        f"Optuna TPE ({b['searcher']['n_startup_trials']} random first, seed "
        f"{b['searcher']['seed']})",
        f"    budget: {b['trials_per_group']} stage-1 trials x {b['groups']} groups "
        f"(dataset x ssl x augmentation) = at most {b['max_trials']} trials, "
        f"{b['max_stage1_epochs']} stage-1 epochs"
        + (f", at most {b['max_concurrent_per_group']} at once per group"
           if b.get("max_concurrent_per_group") else ""),  # fmt: skip
        f"    ASHA on {sch['metric']} ({sch['mode']}), reduction factor "
        f"{sch['reduction_factor']}: rungs at epochs {rungs} of {sch['max_t']}",
        f"    stage 2 only for trials that survive: at most {b['max_stage2']}",
    ] + _render_hours(b, plan.get("timings"))


def _render_hours(b: Mapping[str, Any], timings: Mapping[str, Any] | None) -> list[str]:
    if b.get("max_gpu_hours") is None:
        return []
    cpu = bool(timings) and str(timings.get("device", "")).startswith("cpu")
    unit = "CPU-hours (CPU timings, NOT a GPU estimate)" if cpu else "GPU-hours"
    return [f"    at most {b['max_gpu_hours']:.1f} {unit} if no trial stopped early "
            "(ASHA's stops are the saving)"]  # fmt: skip
