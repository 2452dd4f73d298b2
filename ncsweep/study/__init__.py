"""Search spaces → validated, expanded studies (no Ray here; ``ncsweep.sweep`` runs them)."""

from ncsweep.study.expand import STAGES, Trial, TrialSpec, as_trial, config_hash, expand
from ncsweep.study.plan import missing_datasets, render, summarize
from ncsweep.study.space import SearchSpace, StageSpec, load_space, parse_space


def load_study(path) -> tuple[SearchSpace, list[Trial]]:
    """Validate and expand a search-space file; one ``ConfigError`` lists every problem."""
    space = load_space(path)
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
