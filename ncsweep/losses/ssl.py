"""SSL method registry: the words of ``ssl.method`` → what stage 1 needs to know.

``none`` is the naive VQ-VAE (no augmented view, no projector, ``loss is None``). A method with
``needs_iternorm`` expects its projections whitened by :class:`ncsweep.models.iternorm.IterNorm`
(one module shared by both branches, as in VIbCReg) before ``loss`` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ncsweep.config.stage1 import SSLConfig
from ncsweep.losses.barlow_twins import barlow_twins
from ncsweep.losses.vibcreg import vibcreg

SSLLoss = Callable[[Tensor, Tensor, SSLConfig], Tensor]


@dataclass(frozen=True)
class SSLMethod:
    name: str
    needs_iternorm: bool
    loss: SSLLoss | None  # (z1 (B, D), z2 (B, D), cfg) → scalar; None for ``none``

    @property
    def enabled(self) -> bool:
        return self.loss is not None


def _barlow_twins_loss(z1: Tensor, z2: Tensor, cfg: SSLConfig) -> Tensor:
    return barlow_twins(z1, z2, lambd=cfg.bt_lambda, eps=cfg.bt_eps)


def _vibcreg_loss(z1: Tensor, z2: Tensor, cfg: SSLConfig) -> Tensor:
    w = (cfg.vibcreg_sim, cfg.vibcreg_var, cfg.vibcreg_cov)
    return vibcreg(z1, z2, *w, scale=cfg.vibcreg_scale, var_eps=cfg.vibcreg_var_eps)


SSL_METHODS: dict[str, SSLMethod] = {
    "none": SSLMethod("none", needs_iternorm=False, loss=None),
    "barlowtwins": SSLMethod("barlowtwins", needs_iternorm=False, loss=_barlow_twins_loss),
    "vibcreg": SSLMethod("vibcreg", needs_iternorm=True, loss=_vibcreg_loss),
}
SSL_LOSSES = SSL_METHODS  # the name docs/ARCHITECTURE.md uses


def ssl_method(name: str) -> SSLMethod:
    """The registered method ``name``; an unknown name raises ValueError listing the known ones."""
    if name not in SSL_METHODS:
        raise ValueError(f"unknown SSL method {name!r}; known: {', '.join(sorted(SSL_METHODS))}")
    return SSL_METHODS[name]
