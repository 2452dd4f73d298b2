"""Fréchet distance between two feature sets (FID, Heusel et al. 2017; spec §3)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg


def _stats(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name} must be an (N, F) array with N >= 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½) of the Gaussians fitted to (N, F) arrays a and b.

    The matrix square root is scipy's ``sqrtm``, real part (spec §3). A singular product (fewer
    samples than features) gets the small diagonal offset of pytorch-fid before retrying.
    """
    mu_a, cov_a = _stats(a, "a")
    mu_b, cov_b = _stats(b, "b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature sizes differ: {mu_a.shape[0]} vs {mu_b.shape[0]}")
    with warnings.catch_warnings():  # a singular product is handled just below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(cov_a.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean.real)
    return float(max(value, 0.0))  # tiny negative values are round-off of a zero distance
