"""VectorQuantizer: h-major tokens, straight-through gradients, EMA in training only, no blow-up."""

import subprocess
import sys

import pytest
import torch

from ncsweep.models.vq import VectorQuantizer, perplexity


def _vq(seed: int = 0, **kw) -> VectorQuantizer:
    torch.manual_seed(seed)
    return VectorQuantizer(**{"codebook_size": 8, "dim": 4, **kw})


def test_indices_are_nearest_code_and_h_major():
    vq = _vq().eval()
    h, w = 3, 5
    # Put code (h*W + w) % K exactly at latent position (h, w): the token at that flat index
    # must then be that code.
    want = torch.arange(h * w) % vq.codebook_size  # (H*W,)
    z = vq.codebook[want].t().reshape(1, 4, h, w)  # (1, D, H, W), position (i, j) → i*W + j
    _, indices, commit, _ = vq(z)
    assert indices.shape == (1, h * w)
    assert torch.equal(indices[0], want)
    assert commit.item() == pytest.approx(0.0, abs=1e-12)


def test_nearest_matches_brute_force():
    vq = _vq().eval()
    z = torch.randn(2, 4, 5, 7)
    _, indices, _, _ = vq(z)
    flat = z.permute(0, 2, 3, 1).reshape(2, 35, 4)
    brute = torch.cdist(flat, vq.codebook[None].expand(2, -1, -1)).argmin(-1)
    assert torch.equal(indices, brute)


def test_lookup_inverts_quantisation():
    vq = _vq().eval()
    z = torch.randn(3, 4, 5, 6)
    z_q, indices, _, _ = vq(z)
    assert torch.allclose(vq.lookup(indices, (5, 6)), z_q, atol=1e-6)


def test_straight_through_gradient_and_commitment():
    vq = _vq().train()
    z = torch.randn(2, 4, 5, 6, requires_grad=True)
    z_q, _, commit, _ = vq(z)
    z_q.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))  # identity gradient through the quantiser
    z.grad = None
    _, _, commit, _ = vq(z)
    commit.backward()
    assert z.grad.abs().sum() > 0  # the commitment loss pulls z toward its (detached) code


def test_ema_updates_only_in_training_mode():
    vq = _vq()
    before = {k: v.clone() for k, v in vq.state_dict().items()}
    assert set(before) == {"embed", "cluster_size", "embed_sum"}  # EMA state is saved
    assert not list(vq.parameters())  # and never seen by the optimiser
    vq.eval()
    vq(torch.randn(4, 4, 5, 6))
    for k, v in vq.state_dict().items():
        assert torch.equal(v, before[k]), k
    vq.train()
    vq(torch.randn(4, 4, 5, 6))
    assert not torch.equal(vq.codebook, before["embed"])


def test_ema_moves_used_codes_to_their_data_mean():
    vq = _vq(decay=0.5).train()
    target = torch.tensor([3.0, -2.0, 1.0, 0.5])
    z = target.view(1, 4, 1, 1).expand(8, 4, 2, 2).contiguous()
    for _ in range(60):
        _, idx, _, _ = vq(z)
    assert torch.allclose(vq.codebook[idx[0, 0]], target, atol=1e-4)


def test_unused_codes_stay_bounded():
    """The thesis defect: codes unused early grew to norms ~1e5. Here they keep their value."""
    vq = _vq(codebook_size=32, dim=64, decay=0.9, eps=1e-5).train()
    init = vq.codebook.clone()
    gen = torch.Generator().manual_seed(1)
    # Data far from every code: only one or two codes are ever chosen. After 200 steps an unused
    # code's EMA count is 0.9**200 ≈ 7e-10, far below eps, the regime where the thesis init failed.
    for _ in range(200):
        z = 50.0 + torch.randn(4, 64, 5, 8, generator=gen)
        _, idx, _, _ = vq(z)
    used = torch.unique(idx)
    unused = torch.ones(32, dtype=torch.bool)
    unused[used] = False
    assert unused.sum() >= 20
    norms = vq.codebook.norm(dim=1)
    assert torch.isfinite(vq.codebook).all()
    assert norms[unused].max() <= init.norm(dim=1)[unused].max() * 1.01
    assert torch.allclose(vq.codebook[unused], init[unused], atol=1e-3)
    assert norms[used].max() < 1e3  # the used code sits near the data (norm ≈ 50·8)


def test_perplexity_range():
    assert perplexity(torch.zeros(100, dtype=torch.long), 32).item() == pytest.approx(1.0)
    assert perplexity(torch.arange(32).repeat(4), 32).item() == pytest.approx(32.0, rel=1e-5)


_SEEDED = (
    "import torch; from ncsweep.models.vq import VectorQuantizer as V;"
    "torch.manual_seed(3); q=V(); z=torch.randn(4,64,5,8);"
    "[q(z) for _ in range(3)]; print(q.codebook.sum().item(), q(z)[1].sum().item())"
)


def test_seeded_runs_repeat_in_another_process():
    runs = [
        subprocess.run([sys.executable, "-c", _SEEDED], capture_output=True, text=True)
        for _ in "ab"
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout


def test_bounded_test_detects_the_thesis_init():
    """Sanity check of the test above: with the thesis init (counts 0) unused codes do blow up."""
    vq = _vq(codebook_size=32, dim=64).train()
    vq.cluster_size.zero_()
    vq(50.0 + torch.randn(16, 64, 5, 8))
    assert vq.codebook.norm(dim=1).max() > 1e4
