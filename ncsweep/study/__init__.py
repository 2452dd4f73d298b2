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

        raw = load_yaml(path)
        defaults = dict(raw.get("defaults") or {})
        defaults["data"] = {**(defaults.get("data") or {}), "root": str(data_root)}
        space = parse_space({**raw, "defaults": defaults}, str(path))
    return space, expand(space)


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
