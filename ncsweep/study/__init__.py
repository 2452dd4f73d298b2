"""Search spaces → validated, expanded studies (no Ray here; ``ncsweep.sweep`` runs them)."""

from ncsweep.study.expand import STAGES, Trial, TrialSpec, as_trial, config_hash, expand
from ncsweep.study.plan import missing_datasets, render, summarize
from ncsweep.study.space import SearchSpace, StageSpec, load_space, parse_space


def load_study(path, data_root: str | None = None) -> tuple[SearchSpace, list[Trial]]:
    """Validate and expand a search-space file; one ``ConfigError`` lists every problem.

    ``data_root`` (``--data-root``) replaces the file's ``defaults.data.root``; it is where, not
    what, so the trial keys stay the same."""
    if data_root is None:
        space = load_space(path)
    else:
        from ncsweep.config import load_yaml

        raw = dict(load_yaml(path))
        raw["defaults"] = _with_root(raw.get("defaults"), data_root)
        if isinstance(raw.get("stage1"), dict) and isinstance(raw["stage1"].get("config"), dict):
            config = raw["stage1"]["config"]  # a root set here would win over the defaults'
            if isinstance(config.get("data"), dict) and "root" in config["data"]:
                raw["stage1"] = {**raw["stage1"], "config": _with_root(config, data_root)}
        space = parse_space(raw, str(path))
    return space, expand(space)


def _with_root(section, data_root) -> dict:
    section = dict(section or {})
    section["data"] = {**(section.get("data") or {}), "root": str(data_root)}
    return section


__all__ = [
    "STAGES",
    "SearchSpace",
    "StageSpec",
    "Trial",
    "TrialSpec",
    "as_trial",
    "config_hash",
    "expand",
    "load_space",
    "load_study",
    "missing_datasets",
    "parse_space",
    "render",
    "summarize",
]
