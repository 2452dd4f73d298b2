"""The stage-1 tokens the stage-2 prior learns from (``Stage2Config.tokens``).

``nearest`` (the default): each latent's nearest code, computed once: a fixed training set, and
the very tokens the decoder turns into series when samples are decoded.
``sampled`` (the thesis code's behaviour): its vendored quantiser drew each token from
softmax(−‖z − e_k‖² / T) with T = 1 in training and evaluation. Here the (N, T, K) logits are
computed once with the frozen tokenizer and a token is drawn per position for every training
batch; validation scores one fixed draw of the whole test split, so epochs stay comparable.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ncsweep.config.stage2 import TokenConfig
from ncsweep.models.stft import stft

BATCH = 512  # series per tokenizer pass


@torch.no_grad()
def nearest_tokens(stage1: Any, x, device: torch.device) -> Tensor:
    """(N, L) series → (N, T) long tokens, the frozen tokenizer's nearest codes."""
    x = torch.as_tensor(x, dtype=torch.float32)
    return torch.cat([stage1.tokenize(c.to(device)) for c in x.split(BATCH)]).to(device)


@torch.no_grad()
def code_logits(stage1: Any, x, device: torch.device) -> Tensor:
    """(N, L) series → (N, T, K) logits −‖z − e_k‖², h-major like the tokens (eval mode)."""
    was_training = stage1.training
    stage1.eval()  # no BatchNorm or EMA update from the frozen tokenizer
    out = []
    for c in torch.as_tensor(x, dtype=torch.float32).split(BATCH):
        z = stage1.encoder(stft(c.to(device), stage1.cfg.stft))  # (B, D, H, W')
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # (B·H·W', D), h-major
        out.append(-stage1.vq.distances(flat).view(b, h * w, -1))
    stage1.train(was_training)
    return torch.cat(out)


def sample_tokens(logits: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
    """(…, K) logits → (…) long tokens drawn from softmax(logits / temperature) (Gumbel-max)."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    tiny = torch.finfo(u.dtype).tiny
    expo = -torch.log(u.clamp_min(tiny))  # Exp(1) draws
    gumbel = -torch.log(expo.clamp_min(tiny))  # Gumbel(0, 1) draws
    return (logits / temperature + gumbel.to(logits.device)).argmax(dim=-1)


class TokenSource:
    """Train and test tokens of one dataset, as ``cfg.source`` says."""

    def __init__(self, stage1: Any, data: Any, cfg: TokenConfig, device, seed: int):
        self.cfg = cfg
        self._logits: Tensor | None = None
        if cfg.source == "nearest":
            self.train = nearest_tokens(stage1, data.x_train, device)  # (N, T)
            self.test = nearest_tokens(stage1, data.x_test, device)
            return
        self._logits = code_logits(stage1, data.x_train, device)  # (N, T, K)
        self.train = self._logits.argmax(dim=-1)  # shapes and counts; batches are drawn anew
        gen = torch.Generator().manual_seed(seed + 2)  # apart from the training RNG
        self.test = sample_tokens(code_logits(stage1, data.x_test, device), cfg.temperature, gen)

    def batch(self, idx: Tensor, generator: torch.Generator) -> Tensor:
        """(B,) row indices → (B, T) training tokens (a fresh draw when sampled)."""
        if self._logits is None:
            return self.train[idx]
        return sample_tokens(self._logits[idx], self.cfg.temperature, generator)
