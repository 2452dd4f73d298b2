"""Projector size and IterNorm whitening (train: batch statistics; eval: running statistics)."""

import pytest
import torch

from ncsweep.models.iternorm import IterNorm, group_size
from ncsweep.models.projector import Projector


def group_covariances(y: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, D) → (G, c, c) biased covariance of each group of consecutive channels."""
    b, d = y.shape
    yg = y.T.reshape(d // channels, channels, b)
    yc = yg - yg.mean(dim=2, keepdim=True)
    return yc @ yc.transpose(1, 2) / b


def correlated_batch(n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g)
    return torch.randn(n, d, generator=g) @ mixing + 3.0  # (n, d), far from white, offset mean


def test_projector_parameter_count_and_shape():
    assert sum(p.numel() for p in Projector().parameters()) == 34_107_392  # 34.1 M (spec §1)
    small = Projector(in_dim=128, hidden=64, out=32)
    assert small(torch.randn(5, 128)).shape == (5, 32)
    kinds = [type(m).__name__ for m in small.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]


def test_group_size_rule():
    assert group_size(4096, 64) == 64
    assert group_size(64, 64) == 1
    assert group_size(32, 64) == 32  # fewer features than groups: one group of min(D, 64)
    assert group_size(256, 512) == 64
    with pytest.raises(ValueError):
        group_size(100, 64)
    with pytest.raises(ValueError):
        group_size(100, 128)  # 100 < 128 but not a multiple of 64


@pytest.mark.parametrize(("groups", "T"), [(16, 5), (4, 12)])
def test_train_mode_whitens_each_group(groups, T):
    x = correlated_batch(8192, 64)
    norm = IterNorm(64, num_groups=groups, T=T)
    y = norm(x)
    c = norm.channels
    cov = group_covariances(y, c)
    assert (cov - torch.eye(c)).abs().max().item() < 2e-2
    assert y.mean(dim=0).abs().max().item() < 1e-4
    before = (group_covariances(x, c) - torch.eye(c)).abs().max().item()
    assert before > 10


def test_default_t5_whitening_is_partial_but_decorrelating():
    # 64 channels per group and 5 Newton steps: small eigenvalues stay under-whitened (Huang et
    # al.), but a strongly shared factor is removed and the spectrum becomes far flatter
    g = torch.Generator().manual_seed(0)
    loading = 2 * torch.rand(1, 128, generator=g)
    x = torch.randn(8192, 1, generator=g) * loading + 0.5 * torch.randn(8192, 128, generator=g)
    y = IterNorm(128, num_groups=2)(x).detach()

    def mean_abs_corr_and_condition(z):
        corr = torch.corrcoef(z.T[:64])
        off = corr - torch.diag_embed(torch.diagonal(corr))
        eig = torch.linalg.eigvalsh(torch.cov(z.T[:64]))
        return off.abs().mean().item(), (eig.max() / eig.min()).item()

    corr_x, cond_x = mean_abs_corr_and_condition(x)
    corr_y, cond_y = mean_abs_corr_and_condition(y)
    assert corr_x > 0.3 and corr_y < 0.2 * corr_x
    assert cond_y < 0.1 * cond_x


def test_eval_uses_running_statistics():
    x = correlated_batch(4096, 16, seed=1)
    norm = IterNorm(16, num_groups=4, T=8, momentum=1.0)  # momentum 1: running = last batch
    y_train = norm(x)
    norm.eval()
    assert torch.allclose(norm(x), y_train, atol=1e-4)
    # a single sample is normalised with the stored statistics, not its own (which are degenerate)
    assert torch.allclose(norm(x[:1]), y_train[:1], atol=1e-4)
    before = norm.running_mean.clone()
    norm(x + 5)
    assert torch.equal(norm.running_mean, before)  # eval never updates


def test_running_stats_follow_momentum():
    norm = IterNorm(8, num_groups=2, momentum=0.1)
    x = torch.randn(256, 8) + 2.0
    norm(x)
    expected = 0.1 * x.mean(dim=0)  # from zeros
    assert torch.allclose(norm.running_mean.flatten(), expected, atol=1e-6)
    assert not torch.equal(norm.running_wm, torch.eye(4).expand(2, 4, 4))


def test_affine_and_gradients():
    x = correlated_batch(64, 32).requires_grad_(True)
    norm = IterNorm(32, num_groups=4)
    y = norm(x)
    (y * torch.randn_like(y)).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert norm.weight.grad is not None and norm.bias.grad is not None
    with torch.no_grad():
        norm.weight.fill_(2.0)
        norm.bias.fill_(1.0)
    bare = IterNorm(32, num_groups=4, affine=False)
    assert torch.allclose(norm(x), 2 * bare(x) + 1, atol=1e-5)
    with pytest.raises(ValueError):
        norm(torch.randn(4, 16))


def test_projector_then_iternorm_gives_finite_vibcreg_gradients():
    from ncsweep.losses import vibcreg

    proj, norm = Projector(in_dim=128, hidden=64, out=64), IterNorm(64, num_groups=64)
    h1, h2 = torch.randn(16, 128), torch.randn(16, 128)
    loss = vibcreg(norm(proj(h1)), norm(proj(h2)))
    loss.backward()
    grads = [p.grad for p in proj.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
