"""The SSL projector shared by both stage-1 branches (spec §1); discarded after stage 1."""

from __future__ import annotations

from torch import Tensor, cat, nn

from ncsweep.models.linear import Linear
from ncsweep.models.viewnorm import BatchNorm1d, split_views


class Projector(nn.Module):
    """Linear → BN1d → ReLU → Linear → BN1d → ReLU → Linear.

    At the defaults (128 → 4096 → 4096 → 4096) it holds 34.1 M parameters, 98 % of stage 1.

    ``forward(h1, h2, ...)`` projects several views at once: each Linear runs once on the rows
    of all views stacked (one bigger GEMM, one weight-gradient GEMM), while every BatchNorm
    keeps per-view statistics (models/viewnorm.py): the result of separate calls per view.
    """

    def __init__(self, in_dim: int = 128, hidden: int = 4096, out: int = 4096):
        super().__init__()
        self.net = nn.Sequential(
            Linear(in_dim, hidden),
            BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            Linear(hidden, hidden),
            BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            Linear(hidden, out),
        )

    def forward(self, *views: Tensor) -> Tensor | tuple[Tensor, ...]:
        """One view (B, in_dim) → (B, out); several → a tuple, one (B_i, out) per view."""
        if len(views) == 1:
            return self.net(views[0])
        sizes = [v.shape[0] for v in views]
        with split_views(self, sizes):
            return self.net(cat(views)).split(sizes)
