"""The oneDNN-backed Linear and the multi-view projector are nn.Linear / separate calls."""

import copy

import pytest
import torch
from torch import nn

from ncsweep.models import linear as linear_mod
from ncsweep.models.linear import Linear, use_onednn
from ncsweep.models.projector import Projector


def twin_layers(in_dim=48, out=40):
    torch.manual_seed(0)
    ref = nn.Linear(in_dim, out)
    fast = Linear(in_dim, out)
    fast.load_state_dict(ref.state_dict())  # same keys, same shapes
    return ref, fast


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_linear_matches_nn_linear_in_value_and_gradients(dtype):
    ref, fast = twin_layers()
    ref, fast = ref.to(dtype), fast.to(dtype)
    x = torch.randn(33, 48, dtype=dtype)
    xr, xf = x.clone().requires_grad_(), x.clone().requires_grad_()
    gout = torch.randn(33, 40, dtype=dtype)
    (ref(xr) * gout).sum().backward()
    yf = fast(xf)
    (yf * gout).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(yf, ref(x), **tol)
    torch.testing.assert_close(xf.grad, xr.grad, **tol)
    torch.testing.assert_close(fast.weight.grad, ref.weight.grad, **tol)
    torch.testing.assert_close(fast.bias.grad, ref.bias.grad, **tol)


def test_onednn_path_is_taken_for_cpu_float32_only():
    if linear_mod._OP is None:
        pytest.skip("this torch build has no oneDNN linear op: Linear is plain F.linear")
    w = torch.zeros(4, 3)
    assert use_onednn(torch.zeros(2, 3), w)
    assert not use_onednn(torch.zeros(2, 3, dtype=torch.float64), w.double())
    assert not use_onednn(torch.zeros(5, 2, 3), w)  # batched input → F.linear
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not use_onednn(torch.zeros(2, 3), w)


def test_an_op_that_fails_its_self_check_is_never_used(monkeypatch):
    def broken(*args):
        raise RuntimeError("no kernel for this CPU")

    monkeypatch.setattr(linear_mod, "_OP", broken)
    monkeypatch.setattr(linear_mod, "_CHECKED", None)
    ref, fast = twin_layers()
    x = torch.randn(5, 48)
    assert not use_onednn(x, fast.weight)
    torch.testing.assert_close(fast(x), ref(x))


def test_linear_without_the_op_falls_back(monkeypatch):
    ref, fast = twin_layers()
    monkeypatch.setattr(linear_mod, "_OP", None)
    x = torch.randn(5, 48)
    assert not use_onednn(x, fast.weight)
    torch.testing.assert_close(fast(x), ref(x))


def test_projector_views_together_equal_separate_calls():
    torch.manual_seed(1)
    together = Projector(in_dim=16, hidden=32, out=24)
    apart = copy.deepcopy(together)
    h1, h2 = torch.randn(8, 16), torch.randn(8, 16) * 2 + 1  # different batch statistics
    p1, p2 = together(h1, h2)
    q1, q2 = apart(h1), apart(h2)
    torch.testing.assert_close(p1, q1)
    torch.testing.assert_close(p2, q2)
    (p1.square().sum() + (p1 * p2).sum()).backward()
    (q1.square().sum() + (q1 * q2).sum()).backward()
    for (name, a), b in zip(together.named_parameters(), apart.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
    for (name, a), b in zip(together.named_buffers(), apart.buffers(), strict=True):
        torch.testing.assert_close(a, b, msg=name)  # running stats: view 1, then view 2
