"""A search-space YAML file → a validated :class:`SearchSpace` (no Ray, no torch at import).

Format (see ``search_spaces/``)::

    study: main_study
    defaults: {data: {root: null}, run: {device: auto}}   # shared by every stage that has the key
    evaluator: {config: {epochs: 1000}, resources: {gpu: 1}}
    stage1:
      config: {optim: {epochs: 1000}}       # nested overrides of Stage1Config
      resources: {gpu: 1, cpu: 1}           # fractional gpu allowed; 0 = CPU only
      epochs_per_step: 10                   # epochs per Tune report
      grid:
        dataset: [FordA, ...]
        seed: [0, 1, 2, 3]
        variants:                           # union of Cartesian products: the grid is not one
          - {ssl: none}
          - {ssl: [barlowtwins, vibcreg], augmentation: [warp, slice, gauss], zeta: [0.2]}
          # a sub-grid may also carry ``config:``, Stage1Config overrides for its trials only
    stage2: {config: {...}, resources: {gpu: 1}}   # null or absent: no stage 2 (ζ ablation)
    # stage1.search: an adaptive ζ search instead of a ζ grid (format: study/adaptive.py)

Every problem in a file is collected and raised as ONE :class:`ConfigError` naming the file and
the dotted key, before anything starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncsweep.config import ConfigError, load_yaml
from ncsweep.stages import STAGES, grid_stage

TOP_KEYS = {"study", "defaults", *STAGES}
STAGE_KEYS = {"config", "resources", "epochs_per_step"}
GRID_KEYS = {"dataset", "seed", "variants"}
VARIANT_KEYS = {"ssl", "augmentation", "zeta", "config"}
RESOURCE_KEYS = {"gpu", "cpu"}


@dataclass(frozen=True)
class StageSpec:
    config: dict[str, Any] = field(default_factory=dict)  # nested overrides
    resources: dict[str, float] = field(default_factory=lambda: {"gpu": 1.0, "cpu": 1.0})
    epochs_per_step: int | None = None


@dataclass(frozen=True)
class SearchSpace:
    name: str
    defaults: dict[str, Any]
    stage1: StageSpec
    stage2: StageSpec | None
    evaluator: StageSpec
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    variants: tuple[dict[str, Any], ...]  # expanded: each {ssl, augmentation, zeta, config}
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict)
    search: Any = None  # an adaptive ζ search (study/adaptive.py SearchSpec) instead of a ζ grid


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def defaults_for(stage: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``defaults`` that applies to ``stage`` (its top-level sections only).

    ``defaults.evaluator`` is shared by the evaluator trials and stage 2's ``evaluator`` section.
    """
    sections = STAGES[stage].sections()
    return {k: v for k, v in defaults.items() if k in sections}


def _check_config(stage: str, overrides: Any, where: str, problems: list[str]) -> None:
    """Build the typed config from the overrides to catch unknown keys and wrong types."""
    if not isinstance(overrides, Mapping):
        problems.append(f"{where}: expected a mapping, got {overrides!r}")
        return
    try:
        STAGES[stage].check(overrides)
    except ConfigError as exc:
        problems.extend(f"{where}.{p}" for p in exc.problems)


def _check_resources(value: Any, where: str, problems: list[str]) -> dict[str, float]:
    out = {"gpu": 1.0, "cpu": 1.0}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a mapping like {{gpu: 1, cpu: 1}}, got {value!r}")
        return out
    for key, v in value.items():
        if key not in RESOURCE_KEYS:
            problems.append(f"{where}.{key}: unknown key (known keys: cpu, gpu)")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            problems.append(f"{where}.{key}: expected a number >= 0, got {v!r}")
        else:
            out[key] = float(v)
    return out


def _stage(raw: Any, name: str, problems: list[str]) -> StageSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(f"{name}: expected a mapping, got {raw!r}")
        return StageSpec()
    allowed = STAGE_KEYS | ({"grid", "search"} if STAGES[name].grid else set())
    for key in sorted(set(raw) - allowed):
        problems.append(f"{name}.{key}: unknown key (known keys: {', '.join(sorted(allowed))})")
    config = raw.get("config") or {}
    _check_config(name, config, f"{name}.config", problems)
    resources = _check_resources(raw.get("resources", {}), f"{name}.resources", problems)
    eps = raw.get("epochs_per_step")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, int) or eps < 1):
        problems.append(f"{name}.epochs_per_step: expected an integer >= 1, got {eps!r}")
    cfg = dict(config) if isinstance(config, Mapping) else {}
    return StageSpec(cfg, resources, eps if isinstance(eps, int) else None)


def _check_defaults(defaults: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(defaults, Mapping):
        problems.append(f"defaults: expected a mapping, got {defaults!r}")
        return {}
    for key in defaults:
        if not any(key in s.sections() for s in STAGES.values()):
            problems.append(f"defaults.{key}: unknown key (not a section of any stage's config)")
    for stage in STAGES.values():
        if stage.config_section is None:  # a section's defaults are checked where it is used
            _check_config(stage.name, defaults_for(stage.name, defaults), "defaults", problems)
    return dict(defaults)


def _variants(raw: Any, problems: list[str]) -> list[dict[str, Any]]:
    """Union over sub-grids of the Cartesian product of each sub-grid's lists."""
    import itertools

    if not isinstance(raw, list) or not raw:
        problems.append("stage1.grid.variants: expected a non-empty list of sub-grids")
        return []
    out: list[dict[str, Any]] = []
    for i, sub in enumerate(raw):
        where = f"stage1.grid.variants[{i}]"
        if not isinstance(sub, Mapping):
            problems.append(f"{where}: expected a mapping, got {sub!r}")
            continue
        for key in sorted(set(sub) - VARIANT_KEYS):
            problems.append(
                f"{where}.{key}: unknown key (known keys: {', '.join(sorted(VARIANT_KEYS))})"
            )
        extra = sub.get("config") or {}
        _check_config(grid_stage().name, extra, f"{where}.config", problems)
        ssl = _as_list(sub.get("ssl", "none"))
        aug = _as_list(sub.get("augmentation", None))
        zeta = _as_list(sub.get("zeta", None))
        if not ssl or not aug or not zeta:
            problems.append(f"{where}: empty list expands to no trials")
        for s, a, z in itertools.product(ssl, aug, zeta):
            out.append({"ssl": s, "augmentation": a, "zeta": z, "config": extra})
            point = {"method": s, "augmentation": a, **({"zeta": z} if z is not None else {})}
            # the config's own rules (a baseline with an augmentation or ζ, ...), named here
            _check_config("stage1", {"ssl": point}, where, problems)
    return out


def _check_names(space_vars: list[dict], datasets: list, root: Any, problems: list[str]) -> None:
    """Dataset / SSL / augmentation names against the registries (lazy: they import torch)."""
    from ncsweep.augment import AUGMENTATIONS
    from ncsweep.data import REGISTRY, resolve_roots
    from ncsweep.losses import SSL_METHODS

    present = {p.name for r in resolve_roots(root) if r.is_dir() for p in r.iterdir() if p.is_dir()}
    for i, d in enumerate(datasets):
        if not isinstance(d, str) or (d not in REGISTRY and d not in present):
            problems.append(
                f"stage1.grid.dataset[{i}]: unknown dataset {d!r} (not one of the 13 study "
                "datasets and not found under the data root)"
            )
    for v in space_vars:
        if v["ssl"] not in SSL_METHODS:
            known = ", ".join(sorted(SSL_METHODS))
            problems.append(
                f"stage1.grid.variants: unknown ssl method {v['ssl']!r} (known: {known})"
            )
        if v["augmentation"] is not None and v["augmentation"] not in AUGMENTATIONS:
            known = ", ".join(sorted(AUGMENTATIONS))
            problems.append(
                f"stage1.grid.variants: unknown augmentation {v['augmentation']!r} (known: {known})"
            )


def _check_grid(raw: Any, problems: list[str]) -> tuple[list, list, list]:
    if not isinstance(raw, Mapping):
        problems.append("stage1.grid: missing or not a mapping (needs dataset, seed, variants)")
        return [], [], []
    for key in sorted(set(raw) - GRID_KEYS):
        problems.append(f"stage1.grid.{key}: unknown key (known keys: dataset, seed, variants)")
    datasets = _as_list(raw.get("dataset", []))
    seeds = _as_list(raw.get("seed", [0]))
    if not datasets:
        problems.append("stage1.grid.dataset: empty grid (no datasets)")
    if not seeds:
        problems.append("stage1.grid.seed: empty grid (no seeds)")
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int):
            problems.append(f"stage1.grid.seed[{i}]: expected an integer, got {s!r}")
    for i, d in enumerate(datasets):
        if not isinstance(d, str):
            problems.append(f"stage1.grid.dataset[{i}]: expected a dataset name, got {d!r}")
    return datasets, seeds, _variants(raw.get("variants", [{"ssl": "none"}]), problems)


def parse_space(raw: Mapping[str, Any], source: str = "<dict>") -> SearchSpace:
    """Validate a parsed search space; raise ONE :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(f"{key}: unknown key (known keys: {', '.join(sorted(TOP_KEYS))})")
    name = raw.get("study")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"study: expected a study name, got {name!r}")
    defaults = _check_defaults(raw.get("defaults") or {}, problems)
    if not isinstance(raw.get("stage1"), Mapping):
        problems.append("stage1: missing (a study needs stage1 with a grid)")
    stage1 = _stage(raw.get("stage1"), "stage1", problems)
    stage2 = _stage(raw["stage2"], "stage2", problems) if raw.get("stage2") is not None else None
    evaluator = _stage(raw.get("evaluator"), "evaluator", problems)
    s1 = raw.get("stage1") if isinstance(raw.get("stage1"), Mapping) else {}
    datasets, seeds, variants = _check_grid(s1.get("grid"), problems)
    root = (
        (defaults.get("data") or {}).get("root")
        if isinstance(defaults.get("data"), Mapping)
        else None
    )
    root = (stage1.config.get("data") or {}).get("root", root)
    _check_names(variants, datasets, root, problems)
    search = _search(s1, stage1, variants, problems)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)), source)
    return SearchSpace(
        name=name.strip(),
        defaults=defaults,
        stage1=stage1,
        stage2=stage2,
        evaluator=evaluator,
        datasets=tuple(datasets),
        seeds=tuple(seeds),
        variants=tuple(variants),
        source=source,
        raw=dict(raw),
        search=search,
    )


def _search(s1: Mapping[str, Any], stage1: StageSpec, variants: list, problems: list[str]):
    """``stage1.search``: the adaptive ζ search (issue 17 §2), parsed in study/adaptive.py."""
    if s1.get("search") is None:
        return None
    from ncsweep.study.adaptive import check_variants, parse_search

    check_variants(variants, problems)
    return parse_search(s1["search"], stage1.config, stage1.epochs_per_step, problems)


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search-space YAML file (errors name the file)."""
    return parse_space(load_yaml(path), str(path))
