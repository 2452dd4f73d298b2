"""The stage-1 tokenizer of spec §1: STFT → encoder → VQ → decoder → ISTFT, plus NC-VQVAE's SSL branch.

Naive VQ-VAE (ssl.method = "none"):  L = mse(x, x̂) + mse(u, û) + β·mse(z, sg[z_q]).
NC-VQVAE adds the augmented view x' (drawn by the trainer) through the SAME encoder and decoder,
not quantised:  L += ζ·[mse(x', x̂') + mse(u', û')] + L_SSL(proj(pool(z_q)), proj(pool(z'))).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ncsweep.config.stage1 import Stage1Config
from ncsweep.losses.ssl import ssl_method
from ncsweep.models.decoder import Decoder
from ncsweep.models.encoder import Encoder, latent_shape
from ncsweep.models.iternorm import IterNorm
from ncsweep.models.projector import Projector
from ncsweep.models.stft import istft, stft
from ncsweep.models.viewnorm import split_views
from ncsweep.models.vq import VectorQuantizer


def pool(z: torch.Tensor) -> torch.Tensor:
    """(B, D, H, W) → (B, 2D): global average pool ‖ global max pool."""
    return torch.cat([z.mean(dim=(2, 3)), z.amax(dim=(2, 3))], dim=1)


@dataclass
class Chain:
    """One pass of the chain STFT → encoder → VQ (→ decoder → ISTFT), every intermediate kept."""

    u: torch.Tensor  # (B, 2, 5, L//2+1)
    z: torch.Tensor  # (B, 64, 5, W')
    z_q: torch.Tensor  # (B, 64, 5, W'), straight-through
    tokens: torch.Tensor  # (B, 5·W') long
    commit: torch.Tensor
    perplexity: torch.Tensor
    u_hat: torch.Tensor | None = None  # (B, 2, 5, L//2+1); None when not decoded
    x_hat: torch.Tensor | None = None  # (B, L)


class Stage1Model(nn.Module):
    def __init__(self, cfg: Stage1Config, length: int):
        super().__init__()
        self.cfg, self.length = cfg, length
        d = cfg.encoder.dim
        self.encoder = Encoder(length, cfg.stft, cfg.encoder)
        self.decoder = Decoder(length, cfg.stft, cfg.encoder)
        self.vq = VectorQuantizer(cfg.vq.codebook_size, d, cfg.vq.decay, cfg.vq.eps)
        self.ssl_method = ssl_method(cfg.ssl.method)  # unknown name → ValueError
        self.projector: Projector | None = None
        self.iternorm: IterNorm | None = None
        if self.ssl_method.enabled:
            self._build_ssl(2 * d)  # pool = avg ‖ max → 2·dim
        # Conv weights in channels-last (NHWC) layout: the convolutions then run in NHWC, which
        # measured ~20-30 % faster on the CPU (benchmarks/stage1_throughput.py). Values unchanged.
        self.to(memory_format=torch.channels_last)

    def _build_ssl(self, in_dim: int) -> None:
        ssl = self.cfg.ssl
        self.projector = Projector(in_dim, ssl.proj_hidden, ssl.proj_out)  # shared by both views
        if self.ssl_method.needs_iternorm:  # one module for both views, as in VIbCReg
            self.iternorm = IterNorm(
                ssl.proj_out,
                num_groups=ssl.iternorm_groups,
                T=ssl.iternorm_iters,
                eps=ssl.iternorm_eps,
                momentum=ssl.iternorm_momentum,
            )

    @property
    def latent_shape(self) -> tuple[int, int]:
        return latent_shape(self.length, self.cfg.stft, self.cfg.encoder)  # (5, W')

    @property
    def tokens_per_series(self) -> int:
        h, w = self.latent_shape
        return h * w

    def forward(self, x: torch.Tensor, x_aug: torch.Tensor | None = None):
        """x, x_aug (B, L) → (loss, terms). x_aug is ignored when ssl.method is "none"."""
        if self.ssl_method.enabled and x_aug is not None:
            return self._forward_views(x, x_aug)
        c = self._chain(x)
        return self._total(self._recon_terms(x, c.x_hat, c.u, c.u_hat, c.commit), c.perplexity)

    def _chain(self, x: torch.Tensor, decode: bool = True) -> Chain:
        """The one place the chain is spelled out; ``decode=False`` stops after the VQ."""
        u = stft(x, self.cfg.stft)  # (B, 2, 5, L//2+1)
        z = self.encoder(u)  # (B, 64, 5, W')
        c = Chain(u, z, *self.vq(z))
        if decode:
            c.u_hat, c.x_hat = self._decode(c.z_q)
        return c

    def _decode(self, z_q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 64, 5, W') → (û (B, 2, 5, L//2+1), x̂ (B, L))."""
        u_hat = self.decoder(z_q)
        return u_hat, istft(u_hat, self.length, self.cfg.stft)

    def _recon_terms(self, x, x_hat, u, u_hat, commit) -> dict[str, torch.Tensor]:
        return {"recon_x": F.mse_loss(x_hat, x), "recon_u": F.mse_loss(u_hat, u), "commit": commit}

    def _total(self, terms: dict[str, torch.Tensor], ppl: torch.Tensor, extra=None):
        loss = terms["recon_x"] + terms["recon_u"] + self.cfg.vq.beta * terms["commit"]
        if extra is not None:
            loss = loss + extra
        terms = {k: v.detach() for k, v in terms.items()}
        terms["total"] = loss.detach()
        terms["perplexity"] = ppl
        return loss, terms

    def _forward_views(self, x: torch.Tensor, x_aug: torch.Tensor):
        """Both views through the same encoder and decoder in ONE batch of 2B (faster GEMMs and
        convolutions), BatchNorm statistics kept per view (models/viewnorm.py): the same result
        as one pass per view. Only the original view is quantised (and updates the codebook)."""
        sizes = (x.shape[0], x_aug.shape[0])
        with split_views(self, sizes):
            u_both = stft(torch.cat([x, x_aug]), self.cfg.stft)  # (2B, 2, 5, L//2+1)
            z, z2 = self.encoder(u_both).split(sizes)  # (B, 64, 5, W') each
            z_q, _, commit, ppl = self.vq(z)
            u_hat_both, x_hat_both = self._decode(torch.cat([z_q, z2]))
        x_hat, x2_hat = x_hat_both.split(sizes)
        (u, u2), (u_hat, u2_hat) = u_both.split(sizes), u_hat_both.split(sizes)
        terms = self._recon_terms(x, x_hat, u, u_hat, commit)
        terms["aug_recon_x"] = F.mse_loss(x2_hat, x_aug)
        terms["aug_recon_u"] = F.mse_loss(u2_hat, u2)
        # (B, proj_out) each; z_q is straight-through, so the SSL gradient reaches the encoder
        p1, p2 = self.projector(pool(z_q), pool(z2))
        if self.iternorm is not None:
            p1, p2 = self.iternorm(p1), self.iternorm(p2)
        terms["ssl"] = self.ssl_method.loss(p1, p2, self.cfg.ssl)
        aug = terms["aug_recon_x"] + terms["aug_recon_u"]
        return self._total(terms, ppl, self.cfg.ssl.zeta * aug + terms["ssl"])

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        """Eval mode (no EMA or BatchNorm updates) and no grad; restores the previous mode."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    def tokenize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) → (B, N) long tokens, h-major (index = h·W' + w), nearest code, eval mode."""
        with self._inference():
            return self._chain(x, decode=False).tokens

    def decode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N) tokens → (B, L) series."""
        with self._inference():
            z_q = self.vq.lookup(tokens, self.latent_shape)  # (B, 64, 5, W')
            return self._decode(z_q)[1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) → (B, 64): global average pool of z_q, the probe features of spec §1."""
        with self._inference():
            return self._chain(x, decode=False).z_q.mean(dim=(2, 3))

    def evaluate(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """One eval-mode pass for validation: x̂, u, û, tokens and probe features together."""
        with self._inference():
            c = self._chain(x)
            return {
                "x_hat": c.x_hat,
                "u": c.u,
                "u_hat": c.u_hat,
                "tokens": c.tokens,
                "features": c.z_q.mean(dim=(2, 3)),  # (B, 64)
            }

    def reconstruct(self, x: torch.Tensor):
        """(B, L) → (x̂ (B, L), u (B, 2, 5, L//2+1), û) through the quantiser, eval mode."""
        with self._inference():
            c = self._chain(x)
            return c.x_hat, c.u, c.u_hat
