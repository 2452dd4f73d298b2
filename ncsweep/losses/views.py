"""Input check shared by the SSL losses."""

from __future__ import annotations

from torch import Tensor


def check_views(z1: Tensor, z2: Tensor) -> None:
    """Two projections of the same batch: equal shapes (B, D) with B >= 2, else ValueError."""
    if z1.shape != z2.shape or z1.dim() != 2 or z1.shape[0] < 2:
        raise ValueError(
            f"need two (B, D) tensors with B >= 2, got {tuple(z1.shape)}, {tuple(z2.shape)}"
        )
