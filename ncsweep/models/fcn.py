"""FCN classifier of Wang et al. 2017 (spec §3): the evaluator behind IS, FID and CAS."""

from __future__ import annotations

import torch
from torch import nn

CHANNELS = (128, 256, 128)
KERNELS = (8, 5, 3)


class FCN(nn.Module):
    """Three Conv1d "same" blocks (BN + ReLU), global average pool → 128-d features → logits."""

    def __init__(self, n_classes: int):
        super().__init__()
        layers, c_in = [], 1
        for c_out, k in zip(CHANNELS, KERNELS, strict=True):
            pad = nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0)  # "same", also for even k
            layers += [pad, nn.Conv1d(c_in, c_out, k), nn.BatchNorm1d(c_out), nn.ReLU()]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, n_classes)
        self.n_classes = n_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) → (B, 128): the global-average-pooled activations FID compares."""
        return self.body(x[:, None]).mean(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))  # (B, n_classes)
