"""Slice and shuffle: cut each series into pieces and concatenate them in a random order
(spec §1, ``slice``). Vectorised: every output position finds its piece through the cumulative
lengths of the permuted pieces and gathers its source sample; no per-sample Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from ncsweep.augment._random import check_batch, uniform
from ncsweep.config.stage1 import AugmentConfig


def _pieces(x: Tensor, n_cuts: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Start and length of each piece in input order: both (B, n_cuts + 1) long."""
    b, length = x.shape
    # cut points uniform in [0, L) with replacement, sorted; equal cuts give empty pieces
    cuts = (uniform((b, n_cuts), x, generator) * length).long().clamp_(0, length - 1)
    cuts = cuts.sort(dim=1).values  # (B, K)
    zero = torch.zeros(b, 1, dtype=torch.long, device=x.device)
    bounds = torch.cat([zero, cuts, zero + length], dim=1)  # (B, K+2)
    return bounds[:, :-1], bounds.diff(dim=1)  # (B, P), (B, P)


def slice_shuffle(
    x: Tensor, generator: torch.Generator | None = None, *, n_cuts: int = 3
) -> Tensor:
    """Permute the ``n_cuts + 1`` contiguous pieces of each series. x: (B, L) → (B, L)."""
    check_batch(x)
    b, length = x.shape
    starts, lengths = _pieces(x, n_cuts, generator)
    perm = uniform((b, n_cuts + 1), x, generator).argsort(dim=1)  # (B, P) a permutation per sample
    src_start = starts.gather(1, perm)  # (B, P) in output order
    src_len = lengths.gather(1, perm)  # (B, P)
    ends = src_len.cumsum(dim=1)  # (B, P) end of each piece in the output
    pos = torch.arange(length, device=x.device).expand(b, length).contiguous()  # (B, L)
    piece = torch.searchsorted(ends, pos, right=True)  # (B, L) index of the output piece
    offset = pos - (ends - src_len).gather(1, piece)  # (B, L) position inside the piece
    return x.gather(1, src_start.gather(1, piece) + offset)


def make_slice(cfg: AugmentConfig) -> Callable[..., Tensor]:
    return partial(slice_shuffle, n_cuts=cfg.slice_cuts)
