"""Jitter: add i.i.d. Gaussian noise to every time step (spec §1, ``gauss``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from ncsweep.augment._random import check_batch, normal
from ncsweep.config.stage1 import AugmentConfig


def gauss_noise(
    x: Tensor, generator: torch.Generator | None = None, *, std: float = 0.05
) -> Tensor:
    """``x + N(0, std²)`` element-wise. x: (B, L) → (B, L)."""
    check_batch(x)
    return x + std * normal(tuple(x.shape), x, generator)


def make_gauss(cfg: AugmentConfig) -> Callable[..., Tensor]:
    return partial(gauss_noise, std=cfg.gauss_std)
