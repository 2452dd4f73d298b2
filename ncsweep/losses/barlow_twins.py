"""Barlow Twins loss (Zbontar et al. 2021), as spec §1 states it."""

from __future__ import annotations

import torch
from torch import Tensor

from ncsweep.config.stage1 import SSLConfig
from ncsweep.losses.views import check_views

_D = SSLConfig()  # the defaults, one source: spec §1 via the config (bt_lambda, bt_eps)


def off_diagonal(c: Tensor) -> Tensor:
    """The off-diagonal entries of a square matrix, flattened: (D, D) → (D² − D,)."""
    d = c.shape[0]
    return c.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def standardise(z: Tensor, eps: float = _D.bt_eps) -> Tensor:
    """Each feature over the batch: (z − mean) / (unbiased std + eps). z: (B, D)."""
    return (z - z.mean(dim=0)) / (z.std(dim=0) + eps)


def cross_correlation(z1: Tensor, z2: Tensor, eps: float = _D.bt_eps) -> Tensor:
    """C = Z1ᵀ Z2 / B of the standardised projections: (B, D) × (B, D) → (D, D)."""
    check_views(z1, z2)
    return standardise(z1, eps).T @ standardise(z2, eps) / z1.shape[0]


def barlow_twins(
    z1: Tensor, z2: Tensor, lambd: float = _D.bt_lambda, eps: float = _D.bt_eps
) -> Tensor:
    """[Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²] / D: invariance plus redundancy reduction.

    When D > B (the study's 4096 vs 128) the (D, D) matrix C is never formed: with A, Z the
    standardised views, Σ_ij C_ij² = ‖AᵀZ‖²_F / B² = Σ_nm (AAᵀ)_nm (ZZᵀ)_nm / B², two (B, B)
    Gram matrices (D/B = 32× fewer FLOPs, no D² temporaries), and Σ_{i≠j} C_ij² is that minus
    Σ_i C_ii². The same loss, value and gradient, up to floating-point rounding (tested).
    """
    check_views(z1, z2)
    b, d = z1.shape
    if d <= b:
        c = cross_correlation(z1, z2, eps)  # (D, D)
        on_diag = (1 - torch.diagonal(c)).pow(2).sum()
        off_diag = off_diagonal(c).pow(2).sum()
        return (on_diag + lambd * off_diag) / d
    a, z = standardise(z1, eps), standardise(z2, eps)
    diag = (a * z).sum(dim=0) / b  # C_ii, (D,)
    frobenius_sq = ((a @ a.T) * (z @ z.T)).sum() / b**2  # ‖C‖²_F
    on_diag = (1 - diag).pow(2).sum()
    off_diag = frobenius_sq - diag.pow(2).sum()
    return (on_diag + lambd * off_diag) / d
