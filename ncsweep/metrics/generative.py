"""IS / FID / CAS pieces that need no training (spec §3). The pipeline that samples series and
trains the CAS classifier lives in ``ncsweep.train.sampling`` (metrics never train models)."""

from __future__ import annotations

import numpy as np

from ncsweep.metrics.fid import frechet_distance
from ncsweep.metrics.inception import inception_score


def class_counts(y_train: np.ndarray, n_classes: int, n_total: int) -> np.ndarray:
    """Split ``n_total`` samples over classes in the train split's proportions; the counts sum to
    exactly ``n_total`` (largest remainder), classes absent from train get none."""
    freq = np.bincount(np.asarray(y_train), minlength=n_classes).astype(np.float64)
    share = freq / freq.sum() * n_total
    counts = np.floor(share).astype(np.int64)
    short = n_total - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:short]] += 1
    return counts


def cas_labels(y_train: np.ndarray, n_classes: int, min_samples: int) -> np.ndarray:
    """Class ids of the synthetic CAS training set: max(min_samples, N_train) samples, train
    proportions, grouped by class."""
    n_total = max(min_samples, len(y_train))
    counts = class_counts(y_train, n_classes, n_total)
    return np.repeat(np.arange(n_classes), counts)


def fid_is(
    real_features: np.ndarray, fake_features: np.ndarray, fake_probs: np.ndarray, splits: int
) -> dict[str, float]:
    """FID between real and generated evaluator features, IS of the generated predictions."""
    is_mean, is_std = inception_score(fake_probs, splits=splits)
    fid = frechet_distance(real_features, fake_features)
    return {"fid": fid, "is_mean": is_mean, "is_std": is_std}
