"""Typed, frozen configs; YAML and dicts go through :func:`from_dict` (unknown key → error)."""

from ncsweep.config.base import (
    ConfigError,
    deep_merge,
    flatten,
    from_dict,
    override,
    to_dict,
    unflatten,
)
from ncsweep.config.io import load_yaml
from ncsweep.config.stage1 import Stage1Config
from ncsweep.config.stage2 import EvaluatorConfig, Stage2Config

__all__ = [
    "ConfigError",
    "EvaluatorConfig",
    "Stage1Config",
    "Stage2Config",
    "deep_merge",
    "flatten",
    "from_dict",
    "load_yaml",
    "override",
    "to_dict",
    "unflatten",
]
