"""SSL losses against the formulas of spec §1, written out independently with Python loops."""

import math

import numpy as np
import pytest
import torch

from ncsweep.config.stage1 import SSLConfig
from ncsweep.losses import SSL_METHODS, barlow_twins, ssl_method, vibcreg, vibcreg_terms
from ncsweep.losses.vibcreg import covariance_term, variance_term

Z1 = [[0.3, -1.2, 2.0], [1.5, 0.4, -0.7], [-0.8, 0.9, 0.1], [0.6, -0.3, 1.4]]  # (B=4, D=3)
Z2 = [[1.1, 0.2, -0.5], [0.0, -1.3, 0.8], [0.7, 0.5, 1.9], [-1.4, 0.6, 0.3]]
# the 3 non-constant columns of the 4×4 Hadamard matrix: zero-mean, mutually orthogonal
HADAMARD = [[1.0, 1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]]


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def columns_standardised(z):
    b, d = len(z), len(z[0])
    out = [[0.0] * d for _ in range(b)]
    for j in range(d):
        col = [z[i][j] for i in range(b)]
        mean = sum(col) / b
        std = math.sqrt(sum((v - mean) ** 2 for v in col) / (b - 1))
        for i in range(b):
            out[i][j] = (col[i] - mean) / (std + 1e-8)
    return out


def bt_by_loops(z1, z2, lambd):
    b, d = len(z1), len(z1[0])
    a, c = columns_standardised(z1), columns_standardised(z2)
    total = 0.0
    for i in range(d):
        for j in range(d):
            cij = sum(a[k][i] * c[k][j] for k in range(b)) / b
            total += (1 - cij) ** 2 if i == j else lambd * cij**2
    return total / d


def test_barlow_twins_matches_formula():
    for lambd in (0.005, 0.5):
        got = barlow_twins(t(Z1), t(Z2), lambd=lambd).item()
        assert got == pytest.approx(bt_by_loops(Z1, Z2, lambd), rel=1e-10)


def test_barlow_twins_minimum_for_identical_decorrelated_views():
    # unbiased std with C = ZᵀZ/B puts C_ii at (B-1)/B, so the floor is D·(1/B)²/D = 1/B²
    z = t(HADAMARD)
    assert barlow_twins(z, z).item() == pytest.approx(1 / 16, rel=1e-6)
    # an increasing affine map of a view is perfectly correlated with it: same minimum
    assert barlow_twins(z, 2.5 * z + 1.0).item() == pytest.approx(1 / 16, rel=1e-6)
    assert barlow_twins(t(Z1), t(Z2)).item() > 1 / 16


def test_barlow_twins_is_symmetric_and_rejects_bad_shapes():
    assert barlow_twins(t(Z1), t(Z2)).item() == pytest.approx(barlow_twins(t(Z2), t(Z1)).item())
    with pytest.raises(ValueError):
        barlow_twins(t(Z1)[:1], t(Z2)[:1])
    with pytest.raises(ValueError):
        barlow_twins(t(Z1), t(Z2)[:, :2])


def var_by_loops(z):
    b, d = len(z), len(z[0])
    total = 0.0
    for j in range(d):
        col = [z[i][j] for i in range(b)]
        mean = sum(col) / b
        var = sum((v - mean) ** 2 for v in col) / (b - 1)
        total += max(0.0, 1 - math.sqrt(var + 1e-4))
    return total / d


def cov_by_loops(z):
    b, d = len(z), len(z[0])
    cols = []
    for j in range(d):
        col = [z[i][j] for i in range(b)]
        mean = sum(col) / b
        col = [v - mean for v in col]
        norm = math.sqrt(sum(v * v for v in col))
        cols.append([v / norm for v in col])
    total = 0.0
    for i in range(d):
        for j in range(d):
            if i != j:
                total += sum(cols[i][k] * cols[j][k] for k in range(b)) ** 2
    return total / d**2


def test_vibcreg_terms_match_formula():
    z1, z2 = [[v * 0.3 for v in row] for row in Z1], Z2  # scaled so that var has an active hinge
    terms = vibcreg_terms(t(z1), t(z2))
    sim = float(np.mean((np.array(z1) - np.array(z2)) ** 2))
    assert terms["sim"].item() == pytest.approx(sim, rel=1e-10)
    assert terms["var"].item() == pytest.approx(var_by_loops(z1) + var_by_loops(z2), rel=1e-10)
    assert terms["cov"].item() == pytest.approx(cov_by_loops(z1) + cov_by_loops(z2), rel=1e-10)
    assert var_by_loops(z1) > 0  # the hinge is active on the scaled view
    expected = 0.01 * (25 * sim + 25 * terms["var"].item() + 100 * terms["cov"].item())
    assert vibcreg(t(z1), t(z2)).item() == pytest.approx(expected, rel=1e-10)


def test_vibcreg_term_extremes():
    z = t(HADAMARD)
    assert covariance_term(z).item() == pytest.approx(0.0, abs=1e-12)  # orthogonal columns
    assert variance_term(z).item() == 0.0  # per-feature std ≈ 1.15 ≥ 1: hinge inactive
    const = torch.ones(4, 3, dtype=torch.float64)
    assert variance_term(const).item() == pytest.approx(1 - math.sqrt(1e-4))
    twins = torch.stack([z[:, 0], 3 * z[:, 0]], dim=1)  # (4, 2) perfectly correlated columns
    assert covariance_term(twins).item() == pytest.approx(2 / 4)  # two off-diagonal 1s over D²=4
    assert vibcreg_terms(z, z)["sim"].item() == 0.0


@pytest.mark.parametrize("name", ["barlowtwins", "vibcreg"])
def test_registered_losses_give_gradients(name):
    method = ssl_method(name)
    z1 = torch.randn(16, 8, requires_grad=True)
    z2 = torch.randn(16, 8, requires_grad=True)
    loss = method.loss(z1, z2, SSLConfig(method=name, augmentation="gauss"))
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    for z in (z1, z2):
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_ssl_registry():
    assert set(SSL_METHODS) == {"none", "barlowtwins", "vibcreg"}
    assert SSL_METHODS["none"].loss is None and not SSL_METHODS["none"].enabled
    assert SSL_METHODS["vibcreg"].needs_iternorm and not SSL_METHODS["barlowtwins"].needs_iternorm
    cfg = SSLConfig(method="barlowtwins", augmentation="warp", bt_lambda=0.5)
    got = ssl_method("barlowtwins").loss(t(Z1), t(Z2), cfg).item()
    assert got == pytest.approx(bt_by_loops(Z1, Z2, 0.5), rel=1e-10)
    with pytest.raises(ValueError, match="barlowtwins, none, vibcreg"):
        ssl_method("simclr")


# D > B: the losses switch to (B, B) Gram matrices; the loop formulas above must still hold.
WIDE1 = [[0.3, -1.2, 2.0, 0.5, -0.1], [1.5, 0.4, -0.7, 1.1, 0.9], [-0.8, 0.9, 0.1, -0.6, 0.2]]
WIDE2 = [[1.1, 0.2, -0.5, 0.3, 1.2], [0.0, -1.3, 0.8, -0.9, 0.4], [0.7, 0.5, 1.9, 0.1, -1.0]]


def test_wide_projections_match_the_loop_formulas():
    got = barlow_twins(t(WIDE1), t(WIDE2), lambd=0.5).item()
    assert got == pytest.approx(bt_by_loops(WIDE1, WIDE2, 0.5), rel=1e-10)
    assert covariance_term(t(WIDE1)).item() == pytest.approx(cov_by_loops(WIDE1), rel=1e-10)


def dense_bt(z1, z2, lambd):
    """The (D, D) form, written directly: the reference for the Gram form at study size."""
    b, d = z1.shape
    a = (z1 - z1.mean(0)) / (z1.std(0) + 1e-8)
    z = (z2 - z2.mean(0)) / (z2.std(0) + 1e-8)
    c = a.T @ z / b
    off = c - torch.diag(torch.diagonal(c))
    return ((1 - torch.diagonal(c)).pow(2).sum() + lambd * off.pow(2).sum()) / d


def dense_cov(z):
    zn = torch.nn.functional.normalize(z - z.mean(0), dim=0)
    g = zn.T @ zn
    return (g - torch.diag(torch.diagonal(g))).pow(2).mean()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gram_form_equals_dense_form_in_value_and_gradient(dtype):
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(64, 512, generator=gen, dtype=torch.float64)
    z1 = (base + 0.5 * torch.randn(64, 512, generator=gen, dtype=torch.float64)).to(dtype)
    z2 = (base + 0.5 * torch.randn(64, 512, generator=gen, dtype=torch.float64)).to(dtype)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    pairs = [
        (lambda a, b: barlow_twins(a, b, 0.005), lambda a, b: dense_bt(a, b, 0.005)),
        (
            lambda a, b: covariance_term(a) + covariance_term(b),
            lambda a, b: dense_cov(a) + dense_cov(b),
        ),
    ]
    for fast, dense in pairs:
        a1, a2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
        b1, b2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
        v_fast, v_dense = fast(a1, a2), dense(b1, b2)
        v_fast.backward()
        v_dense.backward()
        assert v_fast.item() == pytest.approx(v_dense.item(), rel=tol)
        scale = b1.grad.abs().max().item()
        assert (a1.grad - b1.grad).abs().max().item() <= tol * 10 * scale
        assert (a2.grad - b2.grad).abs().max().item() <= tol * 10 * scale
