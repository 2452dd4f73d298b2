"""BatchNorm that keeps each view's batch statistics when several views share one forward pass.

Stage 1 sends the original and the augmented view through the same encoder, decoder and
projector. Stacking both into one batch makes every convolution and GEMM run once on 2B rows
(measured 20-30 % faster per sample on the CPU at B=128), but a plain BatchNorm would then mix
the two views' statistics. Inside ``split_views(module, sizes)`` the BatchNorm layers below
normalise each view's rows with that view's own statistics and update their running
statistics view after view: the exact computation of separate forward passes, one per view.
Outside the context (and in eval mode, where running statistics are used) they are plain
``nn.BatchNorm1d`` / ``nn.BatchNorm2d``, with the same parameters and state-dict keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn


class _PerView:
    view_sizes: tuple[int, ...] | None = None

    def forward(self, x: Tensor) -> Tensor:
        sizes = self.view_sizes
        if sizes is None or len(sizes) == 1 or not (self.training or self.running_mean is None):
            return super().forward(x)
        norm = super().forward
        return torch.cat([norm(part) for part in x.split(sizes)])


class BatchNorm1d(_PerView, nn.BatchNorm1d):
    pass


class BatchNorm2d(_PerView, nn.BatchNorm2d):
    pass


@contextlib.contextmanager
def split_views(module: nn.Module, sizes: Sequence[int]) -> Iterator[None]:
    """Within the block, the per-view BatchNorms under ``module`` see rows split by ``sizes``."""
    norms = [m for m in module.modules() if isinstance(m, _PerView)]
    for m in norms:
        m.view_sizes = tuple(int(s) for s in sizes)
    try:
        yield
    finally:
        for m in norms:
            m.view_sizes = None
