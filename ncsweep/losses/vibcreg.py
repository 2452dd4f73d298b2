"""VIbCReg loss (Lee & Aune 2021, arXiv:2109.00783) on IterNorm-whitened projections (spec §1).

Terms are named as in the paper: similarity (invariance), variance, covariance. Weights
λ = μ = 25, ν = 100, and the 0.01 factor the thesis code applies to the total: the defaults of
``SSLConfig`` (vibcreg_sim, vibcreg_var, vibcreg_cov, vibcreg_scale), so an ablation of them is a
search space, not a code change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ncsweep.config.stage1 import SSLConfig
from ncsweep.losses.views import check_views

_D = SSLConfig()  # the defaults, one source: spec §1 via the config


def variance_term(z: Tensor, eps: float = _D.vibcreg_var_eps) -> Tensor:
    """mean_j relu(1 − sqrt(Var_j(z) + eps)), Var over the batch (unbiased). z: (B, D)."""
    std = torch.sqrt(z.var(dim=0) + eps)  # (D,)
    return F.relu(1 - std).mean()


def covariance_term(z: Tensor) -> Tensor:
    """Mean over all D² entries of the squared off-diagonal correlation-like matrix of z.

    Each feature column is centred and L2-normalised over the batch, so the Gram matrix is the
    feature correlation; the diagonal (always 1) is zeroed but still counted in the mean.

    When D > B the (D, D) matrix G = ZnᵀZn is not formed: ‖G‖²_F = ‖ZnZnᵀ‖²_F, a (B, B) Gram
    matrix, and the off-diagonal sum is that minus Σ_i G_ii² (same value up to rounding).
    """
    b, d = z.shape
    zn = F.normalize(z - z.mean(dim=0), p=2, dim=0)  # (B, D)
    if d <= b:
        gram = zn.T @ zn  # (D, D)
        off = gram - torch.diag_embed(torch.diagonal(gram))
        return off.pow(2).mean()
    diag = zn.pow(2).sum(dim=0)  # G_ii: 1, or 0 for a constant feature
    return ((zn @ zn.T).pow(2).sum() - diag.pow(2).sum()) / d**2


def vibcreg_terms(z1: Tensor, z2: Tensor, var_eps: float = _D.vibcreg_var_eps) -> dict[str, Tensor]:
    """The unweighted terms: ``sim``, ``var`` (both views summed), ``cov`` (both views summed)."""
    check_views(z1, z2)
    return {
        "sim": F.mse_loss(z1, z2),
        "var": variance_term(z1, var_eps) + variance_term(z2, var_eps),
        "cov": covariance_term(z1) + covariance_term(z2),
    }


def vibcreg(
    z1: Tensor,
    z2: Tensor,
    sim: float = _D.vibcreg_sim,
    var: float = _D.vibcreg_var,
    cov: float = _D.vibcreg_cov,
    scale: float = _D.vibcreg_scale,
    var_eps: float = _D.vibcreg_var_eps,
) -> Tensor:
    """scale · [sim·sim + var·(var1 + var2) + cov·(cov1 + cov2)] as a scalar
    (0.01 · [25, 25, 100] by default)."""
    t = vibcreg_terms(z1, z2, var_eps)
    return scale * (sim * t["sim"] + var * t["var"] + cov * t["cov"])
