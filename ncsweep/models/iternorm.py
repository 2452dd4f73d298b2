"""Iterative Normalization (Huang et al., CVPR 2019, "Iterative Normalization: Beyond
Standardization towards Efficient Whitening"), for (B, D) projections as VIbCReg uses it.

Channels are split into groups; each group is centred and whitened by Σ^{-1/2}, computed with
T Newton iterations on the trace-normalised covariance (no eigendecomposition, so it is cheap
and differentiable by plain autograd). With T=5 the whitening is deliberately incomplete for
small eigenvalues, as in the paper. Training updates a running mean and a running whitening
matrix with ``momentum``; eval mode uses them.

Group size: D // num_groups channels (D must be divisible). If D < num_groups (tiny test
projectors), groups of min(D, 64) channels are used instead, so D=32 with num_groups=64 gives
one group of 32 channels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ncsweep.config.stage1 import SSLConfig


def group_size(num_features: int, num_groups: int) -> int:
    """Channels per group, following the rule in the module docstring."""
    if num_features < num_groups:
        size = min(num_features, 64)
        if num_features % size:
            raise ValueError(
                f"IterNorm: {num_features} features do not split into groups of {size}"
            )
        return size
    if num_features % num_groups:
        raise ValueError(
            f"IterNorm: {num_features} features do not split into {num_groups} equal groups"
        )
    return num_features // num_groups


def whitening_matrix(xc: Tensor, T: int, eps: float) -> Tensor:
    """Σ^{-1/2} by Newton's iterations. xc: centred (G, c, B) → (G, c, c)."""
    g, c, b = xc.shape
    eye = torch.eye(c, device=xc.device, dtype=xc.dtype).expand(g, c, c)
    sigma = eps * eye + xc @ xc.transpose(1, 2) / b  # (G, c, c)
    r_tr = 1.0 / (sigma * eye).sum(dim=(1, 2), keepdim=True)  # (G, 1, 1) 1 / trace
    sigma_n = sigma * r_tr  # eigenvalues in (0, 1]: Newton converges
    p = eye
    for _ in range(T):
        p = 1.5 * p - 0.5 * torch.linalg.matrix_power(p, 3) @ sigma_n
    return p * r_tr.sqrt()


_D = SSLConfig()  # the defaults, one source: spec §1 via the config (iternorm_*)


class IterNorm(nn.Module):
    def __init__(
        self,
        num_features: int,
        num_groups: int = _D.iternorm_groups,
        T: int = _D.iternorm_iters,
        eps: float = _D.iternorm_eps,
        momentum: float = _D.iternorm_momentum,
        affine: bool = True,
    ):
        super().__init__()
        self.num_features, self.T, self.eps, self.momentum = num_features, T, eps, momentum
        self.channels = group_size(num_features, num_groups)
        self.num_groups = num_features // self.channels
        g, c = self.num_groups, self.channels
        self.register_buffer("running_mean", torch.zeros(g, c, 1))
        self.register_buffer("running_wm", torch.eye(c).expand(g, c, c).clone())
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        b, d = x.shape
        if d != self.num_features:
            raise ValueError(f"IterNorm expected {self.num_features} features, got {d}")
        xg = x.T.reshape(self.num_groups, self.channels, b)  # (G, c, B)
        if self.training:
            mean = xg.mean(dim=2, keepdim=True)  # (G, c, 1)
            xc = xg - mean
            wm = whitening_matrix(xc, self.T, self.eps)  # (G, c, c)
            self._update_running(mean, wm)
        else:
            xc, wm = xg - self.running_mean, self.running_wm
        out = (wm @ xc).reshape(d, b).T  # (B, D)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out

    @torch.no_grad()
    def _update_running(self, mean: Tensor, wm: Tensor) -> None:
        self.running_mean.lerp_(mean.detach(), self.momentum)
        self.running_wm.lerp_(wm.detach(), self.momentum)

    def extra_repr(self) -> str:
        return f"{self.num_features}, groups={self.num_groups}x{self.channels}, T={self.T}"
