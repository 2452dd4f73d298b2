"""Vector quantiser with an EMA codebook (van den Oord et al. 2017, App. A.1), spec §1.

The thesis code (a vendored lucidrains quantiser) started the EMA cluster sizes at 0 and the
embedding sums at the codebook. A code unused in the first batches then gets
``embed_sum / (cluster_size + eps) ≈ 0.9·e / 1e-5``: norms ~1e5. Here the counts start at 1 and
the sums at the codebook, so every code starts as the mean of one pseudo-sample at itself, and the
Laplace pseudo-count sits at the code's current value: an unused code stays where it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VectorQuantizer(nn.Module):
    """z (B, D, H, W) → nearest of K codes; EMA codebook updates happen only in training mode."""

    def __init__(
        self, codebook_size: int = 32, dim: int = 64, decay: float = 0.9, eps: float = 1e-5
    ):
        super().__init__()
        self.codebook_size, self.dim, self.decay, self.eps = codebook_size, dim, decay, eps
        embed = torch.randn(codebook_size, dim)  # (K, D)
        # Buffers, not parameters: EMA state is saved in state_dict but never seen by the optimiser.
        self.register_buffer("embed", embed)
        self.register_buffer("cluster_size", torch.ones(codebook_size))  # (K,)
        self.register_buffer("embed_sum", embed.clone())  # (K, D)

    @property
    def codebook(self) -> torch.Tensor:
        return self.embed  # (K, D)

    def distances(self, flat: torch.Tensor) -> torch.Tensor:
        """(N, D) → (N, K) squared Euclidean distance of each vector to each code."""
        return (
            flat.pow(2).sum(1, keepdim=True)
            - 2 * flat @ self.embed.t()
            + self.embed.pow(2).sum(1)[None, :]
        )

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """(N, D) → (N,) index of the Euclidean-nearest code (ties: lowest index)."""
        return self.distances(flat).argmin(dim=1)

    def lookup(self, indices: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """(B, H*W) h-major indices → (B, D, H, W) code vectors."""
        h, w = shape
        z_q = F.embedding(indices, self.embed)  # (B, H*W, D)
        return z_q.view(indices.shape[0], h, w, self.dim).permute(0, 3, 1, 2).contiguous()

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx, self.codebook_size).type_as(flat)  # (N, K)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        # Laplace smoothing of the counts; the pseudo-count it adds (smoothed − count) is placed
        # at the code's current value, so a code with count → 0 keeps its value instead of → 0/eps.
        smoothed = (self.cluster_size + self.eps) / (n + self.codebook_size * self.eps) * n
        pseudo = (smoothed - self.cluster_size).unsqueeze(1)  # (K, 1)
        self.embed.copy_((self.embed_sum + pseudo * self.embed) / smoothed.unsqueeze(1))

    def forward(self, z: torch.Tensor):
        """→ (z_q_st (B,D,H,W), indices (B,H*W) h-major, commit_loss, perplexity)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # (B*H*W, D), h-major within each sample
        idx = self.nearest(flat.detach())  # (B*H*W,)
        indices = idx.view(b, h * w)
        z_q = self.lookup(indices, (h, w))  # (B, D, H, W), codes before this batch's update
        if self.training:
            self._ema_update(flat.detach().float(), idx)
        commit = F.mse_loss(z, z_q.detach())
        z_q_st = z + (z_q - z).detach()  # straight-through: gradient of z_q_st w.r.t. z is 1
        return z_q_st, indices, commit, perplexity(idx, self.codebook_size)


def perplexity(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp(entropy) of the code usage in ``indices``: 1 = one code used, K = uniform use."""
    probs = torch.bincount(indices.flatten(), minlength=codebook_size).float()
    probs = probs / probs.sum().clamp_min(1)
    return torch.exp(-(probs * torch.log(probs.clamp_min(1e-10))).sum())
