"""FID, IS and the CAS label split (spec §3), checked against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncsweep.metrics import frechet_distance, inception_score
from ncsweep.metrics.generative import cas_labels, class_counts, fid_is
from ncsweep.models.fcn import FCN


def with_exact_moments(rng, n: int, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """n samples whose sample mean and (unbiased) covariance are exactly mean and diag(var)."""
    x = rng.normal(size=(n, len(mean)))
    x -= x.mean(0)
    chol = np.linalg.cholesky(np.cov(x, rowvar=False))
    white = x @ np.linalg.inv(chol).T  # sample covariance = identity
    return white * np.sqrt(var) + mean


def test_fid_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_fid_matches_the_closed_form_for_two_gaussians():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, -0.5])
    var1, var2 = np.array([1.0, 4.0, 0.25, 2.0]), np.array([9.0, 1.0, 0.25, 0.5])
    a = with_exact_moments(rng, 400, mu1, var1)
    b = with_exact_moments(rng, 300, mu2, var2)
    # diagonal covariances: Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) = Σ_i (σ1_i − σ2_i)²
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(closed, rel=1e-6)
    assert frechet_distance(b, a) == pytest.approx(closed, rel=1e-6)


def test_fid_survives_fewer_samples_than_features():
    rng = np.random.default_rng(2)
    value = frechet_distance(rng.normal(size=(10, 32)), rng.normal(size=(10, 32)) + 1.0)
    assert np.isfinite(value) and value > 0


@pytest.mark.parametrize(
    "a, b",
    [
        (np.zeros((1, 4)), np.zeros((5, 4))),
        (np.zeros((5, 4)), np.zeros((5, 3))),
        (np.zeros(5), np.zeros(5)),
    ],
)
def test_fid_rejects_bad_shapes(a, b):
    with pytest.raises(ValueError):
        frechet_distance(a, b)


def test_is_lies_between_one_and_k():
    logits = np.random.default_rng(3).normal(size=(1000, 7)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    mean, std = inception_score(probs, splits=10)
    assert 1.0 <= mean <= 7.0 and std >= 0.0


def test_is_equals_k_for_confident_uniform_predictions():
    k = 5
    probs = np.eye(k)[np.tile(np.arange(k), 40)]  # one-hot, every split holds each class equally
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-12)


def test_is_is_one_when_every_sample_looks_the_same():
    probs = np.tile([0.7, 0.2, 0.1], (100, 1))
    assert inception_score(probs, splits=4)[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "probs", [np.full((5, 2), 0.5), np.full((20, 2), 0.7), -np.eye(2)[[0, 1] * 10]]
)
def test_is_rejects_bad_input(probs):
    with pytest.raises(ValueError):
        inception_score(probs, splits=10)


def test_cas_labels_follow_train_proportions():
    y_train = np.array([0] * 6 + [1] * 3 + [2] * 1)
    labels = cas_labels(y_train, n_classes=4, min_samples=1000)
    assert len(labels) == 1000
    assert np.bincount(labels, minlength=4).tolist() == [600, 300, 100, 0]
    counts = class_counts(np.array([0, 1, 1]), 2, 1000)  # 333.3 / 666.7 → sums to 1000 exactly
    assert counts.tolist() == [333, 667]
    assert len(cas_labels(np.zeros(2000, dtype=int), 1, 1000)) == 2000  # never fewer than train


def test_fid_is_bundle():
    rng = np.random.default_rng(4)
    probs = np.eye(3)[rng.integers(0, 3, 90)]
    out = fid_is(rng.normal(size=(90, 8)), rng.normal(size=(90, 8)), probs, splits=3)
    assert set(out) == {"fid", "is_mean", "is_std"} and 1.0 <= out["is_mean"] <= 3.0


@pytest.mark.parametrize("length", [65, 70, 128])
def test_fcn_shapes_and_same_padding(length):
    model = FCN(n_classes=4).eval()
    x = torch.randn(3, length)
    assert model.features(x).shape == (3, 128)
    assert model(x).shape == (3, 4)
    assert model.body(x[:, None]).shape[-1] == length  # "same" padding keeps the length
