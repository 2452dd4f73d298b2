"""Inception score on class probabilities (Salimans et al. 2016; spec §3)."""

from __future__ import annotations

import numpy as np


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) on each of ``splits`` consecutive chunks of the (N, K) rows;
    returns (mean, std) over the chunks. Lies in [1, K]."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < splits or splits < 1:
        raise ValueError(f"probs must be (N, K) with N >= splits={splits}, got shape {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs rows must be non-negative and sum to 1 (apply softmax first)")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)  # p(y) over the chunk
        kl = np.where(part > 0, part * (np.log(np.maximum(part, 1e-300)) - np.log(marginal)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
