"""Mask schedules for the MaskGIT prior (spec §2; MaskGIT arXiv:2202.04200 §3.2).

A schedule γ maps a ratio r ∈ [0, 1] to the fraction of tokens that stay masked: γ(0) = 1
(all masked), γ(1) = 0. Training masks ⌈γ(r)·N⌉ tokens with r ~ U(0, 1]; iterative decoding keeps
⌊γ((t+1)/T)·N⌋ tokens masked after step t. The names are the words used in YAML files.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Schedule = Callable[[torch.Tensor], torch.Tensor]

MASK_SCHEDULES: dict[str, Schedule] = {
    "cosine": lambda r: torch.cos(math.pi / 2 * r),
    "linear": lambda r: 1.0 - r,
    "square": lambda r: 1.0 - r**2,
}


def get_schedule(name: str) -> Schedule:
    if name not in MASK_SCHEDULES:
        known = ", ".join(sorted(MASK_SCHEDULES))
        raise ValueError(f"unknown mask schedule {name!r} (known: {known})")
    return MASK_SCHEDULES[name]


def n_masked_train(r: torch.Tensor, n_tokens: int, schedule: Schedule) -> torch.Tensor:
    """⌈γ(r)·N⌉ per sequence, clamped to [1, N] so every sequence contributes to the loss."""
    count = torch.ceil(schedule(r) * n_tokens - 1e-6).long()  # 1e-6: cos(π/2·r) rounding
    return count.clamp(1, n_tokens)


def random_mask(
    batch: int, n_tokens: int, schedule: Schedule, generator: torch.Generator
) -> torch.Tensor:
    """Bool mask (B, N): per row, r ~ U(0, 1] and ⌈γ(r)·N⌉ uniformly chosen positions are True."""
    r = 1.0 - torch.rand(batch, generator=generator)  # (B,) in (0, 1]
    count = n_masked_train(r, n_tokens, schedule)  # (B,)
    order = torch.rand(batch, n_tokens, generator=generator).argsort(dim=1)  # random permutation
    rank = order.argsort(dim=1)  # rank of each position in that permutation
    return rank < count[:, None]  # (B, N)


def n_masked_decode(step: int, steps: int, n_tokens: int, schedule: Schedule) -> int:
    """Tokens left masked after decoding step ``step`` (0-based) of ``steps``: ⌊γ((t+1)/T)·N⌋."""
    ratio = torch.tensor((step + 1) / steps, dtype=torch.float64)
    return int(math.floor(float(schedule(ratio)) * n_tokens + 1e-9))
