"""Shared fixtures: tiny but real configs on the bundled UCR data."""

from __future__ import annotations

import os

import pytest

# Ray's token auth would make test clusters need a token file; tests start throwaway clusters.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def tiny_stage1(ssl: str = "none", aug: str | None = None, **overrides):
    """A Stage1Config that trains in about a second per epoch on SonyAIBORobotSurface1."""
    from ncsweep.config import Stage1Config, deep_merge, from_dict

    base = {
        "data": {"dataset": "SonyAIBORobotSurface1"},
        "ssl": {"method": ssl, "augmentation": aug, "proj_hidden": 64, "proj_out": 64},
        "optim": {"epochs": 2, "batch_size": 16},
        "run": {"seed": 0, "eval_every": 1, "checkpoint_every": 1, "device": "cpu"},
    }
    return from_dict(Stage1Config, deep_merge(base, overrides))


@pytest.fixture
def tiny_stage1_cfg():
    return tiny_stage1
