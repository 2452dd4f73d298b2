"""nn.Linear whose CPU fp32 forward and input-gradient GEMMs run in oneDNN instead of MKL.

Why: on AMD CPUs MKL's sgemm takes a slow path; at the projector's shape (256 × 4096 × 4096,
one thread) MKL reaches ~45 GFLOP/s where oneDNN reaches ~67 (benchmarks/stage1_throughput.py
prints the yardstick). The weight gradient stays with torch.mm (oneDNN is no faster there).

The op is ``torch.ops.mkldnn._linear_pointwise`` (what torch.compile's CPU backend calls), a
private op: it is used only on CPU, for float32, when present, and any other case (CUDA,
float64, autocast, a torch without the op) is plain F.linear. Parameters, state dict and
results (to float32 rounding) are those of nn.Linear; tests/test_models_linear.py checks it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _onednn_linear_op():
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_OP = _onednn_linear_op() if torch.backends.mkldnn.is_available() else None
_CHECKED: bool | None = None  # does _OP run and agree with F.linear on this machine?


def _op_works() -> bool:
    """Once per process: a small product through _OP must equal F.linear's (else never use it:
    a private op may be missing a kernel on some CPU, e.g. an aarch64 build)."""
    global _CHECKED
    if _CHECKED is None:
        try:
            gen = torch.Generator().manual_seed(0)
            x, w = torch.randn(5, 7, generator=gen), torch.randn(3, 7, generator=gen)
            b = torch.randn(3, generator=gen)
            _CHECKED = bool(torch.allclose(_gemm(x, w, b), F.linear(x, w, b), atol=1e-5))
        except Exception:  # noqa: BLE001 - any failure means: use F.linear
            _CHECKED = False
    return _CHECKED


def _gemm(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """x @ wᵀ + b for 2-D x via oneDNN (strided w is fine: no copy)."""
    return _OP(x, w, b, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _gemm(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        gx = _gemm(grad, weight.t(), None) if ctx.needs_input_grad[0] else None  # grad @ W
        gw = grad.t().mm(x) if ctx.needs_input_grad[1] else None
        gb = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def use_onednn(x: Tensor, weight: Tensor) -> bool:
    return (
        _OP is not None
        and x.device.type == "cpu"
        and x.dim() == 2
        and x.dtype == weight.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and _op_works()
    )


class Linear(nn.Linear):
    """Drop-in nn.Linear (same parameters and state-dict keys) with the CPU path above."""

    def forward(self, x: Tensor) -> Tensor:
        if use_onednn(x, self.weight):
            return _OneDNNLinear.apply(x.contiguous(), self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)
