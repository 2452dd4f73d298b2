"""Class-conditional MaskGIT prior over stage-1 tokens (spec §2; Chang et al. arXiv:2202.04200).

One architecture for every SSL method (spec fix). Tokens are embedded with a trainable copy of the
stage-1 codebook, THEN masked positions are replaced by a learned mask vector (thesis §4.1.2). A
class token is prepended; its id ``n_classes`` means "unconditional" (classifier-free guidance).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ncsweep.config.stage2 import PriorConfig, SamplingConfig
from ncsweep.models.masking import get_schedule, n_masked_decode


class Attention(nn.Module):
    """Multi-head self-attention whose inner width (heads × head_dim) differs from the model width."""

    def __init__(self, dim: int, n_heads: int, head_dim: int):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, head_dim
        self.qkv = nn.Linear(dim, 3 * n_heads * head_dim)
        self.out = nn.Linear(n_heads * head_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, H, S, Dh), bidirectional
        return self.out(y.transpose(1, 2).reshape(b, s, -1))  # (B, S, dim)


class Block(nn.Module):
    """Pre-norm transformer layer: x + attn(LN x), then x + FF(LN x)."""

    def __init__(self, cfg: PriorConfig):
        super().__init__()
        dim, ff = cfg.hidden, cfg.hidden * cfg.ff_ratio
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, cfg.n_heads, cfg.head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Linear(ff, dim))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.ff(self.norm2(x)))


class MaskGIT(nn.Module):
    def __init__(self, cfg: PriorConfig, codebook: torch.Tensor, n_tokens: int, n_classes: int):
        super().__init__()
        k, d = codebook.shape
        self.cfg, self.n_tokens, self.n_classes, self.codebook_size = cfg, n_tokens, n_classes, k
        self.schedule = get_schedule(cfg.mask_schedule)
        self.tok_emb = nn.Embedding(k, d)
        self.tok_emb.weight.data.copy_(codebook.detach())  # init from stage 1, then trained
        self.mask_emb = nn.Parameter(torch.randn(d) * 0.02)
        self.cls_emb = nn.Embedding(n_classes + 1, d)  # last id = unconditional
        self.pos_emb = nn.Parameter(torch.randn(1, n_tokens + 1, d) * 0.02)
        self.norm_in = nn.LayerNorm(d)
        self.proj_in = nn.Linear(d, cfg.hidden)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm_out = nn.LayerNorm(cfg.hidden)
        self.proj_out = nn.Linear(cfg.hidden, d)
        self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d), nn.Linear(d, k))

    @property
    def uncond_id(self) -> int:
        return self.n_classes

    def forward(
        self, tokens: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """tokens (B, N) long, labels (B,) long (``n_classes`` = unconditional), mask (B, N) bool
        (True = hidden) → logits (B, N, K)."""
        emb = self.tok_emb(tokens)  # (B, N, D)
        emb = torch.where(mask[..., None], self.mask_emb.to(emb.dtype), emb)
        x = torch.cat([self.cls_emb(labels)[:, None], emb], dim=1)  # (B, N+1, D)
        x = self.proj_in(self.norm_in(x + self.pos_emb))  # (B, N+1, hidden)
        for block in self.blocks:
            x = block(x)
        x = self.proj_out(self.norm_out(x))[:, 1:]  # (B, N, D), class token dropped
        return self.head(x)  # (B, N, K)

    def loss(
        self, tokens: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy on MASKED positions only (spec fix) and the token accuracy there."""
        logits = self(tokens, labels, mask)  # (B, N, K)
        picked, target = logits[mask], tokens[mask]  # (M, K), (M,)
        ce = F.cross_entropy(picked, target)
        acc = (picked.argmax(-1) == target).float().mean()
        return ce, acc

    def drop_labels(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Replace each label by the unconditional id with probability ``p_uncond``."""
        drop = torch.rand(labels.shape, generator=generator) < self.cfg.p_uncond
        return torch.where(drop.to(labels.device), torch.full_like(labels, self.uncond_id), labels)

    def guided_logits(self, tokens, labels, mask, guidance: float) -> torch.Tensor:
        """l_u + s·(l_c − l_u); one forward pass when s = 1 or when already unconditional."""
        uncond = torch.full_like(labels, self.uncond_id)
        if guidance == 1.0 or bool((labels == self.uncond_id).all()):
            return self(tokens, labels, mask)
        both = self(
            torch.cat([tokens, tokens]), torch.cat([labels, uncond]), torch.cat([mask, mask])
        )
        cond, unc = both.chunk(2)
        return unc + guidance * (cond - unc)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: torch.Tensor | None,
        cfg: SamplingConfig,
        generator: torch.Generator,
        batch: int | None = None,
    ) -> torch.Tensor:
        """Iterative decoding (spec §2) → tokens (n, N) long. ``labels`` None → unconditional.

        Random numbers come from ``generator`` (CPU) in blocks of ``cfg.batch_size`` samples, in
        the same order whatever the compute batch, so ``batch`` (samples per forward pass;
        default :meth:`sampling_batch`: one block on a CPU, as many as fit on a GPU) changes the
        speed, never which numbers a sample gets. A batch that runs out of GPU memory is split
        in halves and run again with the numbers it already drew."""
        device = self.pos_emb.device
        if labels is None:
            labels = torch.full((n,), self.uncond_id, dtype=torch.long)
        labels = labels.long().cpu()
        if labels.shape != (n,) or labels.min() < 0 or labels.max() > self.uncond_id:
            raise ValueError(f"labels must be (n,) ids in [0, {self.uncond_id}], got {labels}")
        block = cfg.batch_size
        batch = max(block, (batch or self.sampling_batch(n, cfg, device)) // block * block)
        was_training = self.training
        self.eval()
        out = []
        for i in range(0, n, batch):
            part = labels[i : i + batch]
            blocks = [self._noise(len(part[j : j + block]), cfg, generator)
                      for j in range(0, len(part), block)]  # fmt: skip
            steps = [(torch.cat([b[t][0] for b in blocks]), torch.cat([b[t][1] for b in blocks]))
                     for t in range(cfg.steps)]  # fmt: skip
            out.append(self._decode_fitting(part, steps, cfg))
        self.train(was_training)
        return torch.cat(out).cpu() if out else torch.empty(0, self.n_tokens, dtype=torch.long)

    def sampling_batch(self, n: int, cfg: SamplingConfig, device: torch.device) -> int:
        """Samples per forward pass. CPU: one block of ``cfg.batch_size`` (one thread decodes as
        fast at 32 as at 512, benchmarks/stage2_throughput.py). GPU: every sample at once, up to
        ~2^23 elements of noise per step (~32 MB) per pass; :meth:`sample` halves it on OOM."""
        if device.type != "cuda":
            return cfg.batch_size
        cap = max(1, SAMPLE_ELEMENTS // (self.n_tokens * self.codebook_size))
        return max(cfg.batch_size, min(n, cap))

    def _noise(self, b: int, cfg: SamplingConfig, generator: torch.Generator) -> list[tuple]:
        """One block's Gumbel noise for every decoding step, drawn in the order decoding uses it:
        per step (b, N, K) for the categorical draw, then (b, N) for the confidences."""
        n, k = self.n_tokens, self.codebook_size
        return [
            (_gumbel((b, n, k), generator), _gumbel((b, n), generator)) for _ in range(cfg.steps)
        ]

    def _decode_fitting(self, labels: torch.Tensor, noise: list[tuple], cfg) -> torch.Tensor:
        device = self.pos_emb.device
        try:
            moved = [(a.to(device), c.to(device)) for a, c in noise]
            return self._decode(labels.to(device), cfg, moved).cpu()
        except torch.OutOfMemoryError:
            if len(labels) <= 1:
                raise
            torch.cuda.empty_cache()
            h = len(labels) // 2
            halves = [[(a[sl], c[sl]) for a, c in noise] for sl in (slice(0, h), slice(h, None))]
            return torch.cat([self._decode_fitting(labels[:h], halves[0], cfg),
                              self._decode_fitting(labels[h:], halves[1], cfg)])  # fmt: skip

    def _decode(
        self, labels: torch.Tensor, cfg: SamplingConfig, noise: list[tuple]
    ) -> torch.Tensor:
        b, n = labels.shape[0], self.n_tokens
        tokens = torch.zeros(b, n, dtype=torch.long, device=labels.device)
        mask = torch.ones(b, n, dtype=torch.bool, device=labels.device)
        for t, (g_draw, g_conf) in enumerate(noise):
            logits = self.guided_logits(tokens, labels, mask, cfg.guidance) / cfg.temperature
            logp = logits.log_softmax(-1)  # (B, N, K)
            drawn = (logp + g_draw).argmax(-1)  # categorical sample
            tokens = torch.where(mask, drawn, tokens)  # keep already fixed tokens
            conf = logp.gather(-1, tokens[..., None])[..., 0]  # (B, N) log p of chosen token
            anneal = cfg.gumbel_scale * (1.0 - (t + 1) / cfg.steps)
            conf = conf + anneal * g_conf
            conf = conf.masked_fill(~mask, float("inf"))  # fixed tokens are never re-masked
            keep_masked = n_masked_decode(t, cfg.steps, n, self.schedule)
            lowest = conf.argsort(dim=1)[:, :keep_masked]  # least confident positions
            mask = torch.zeros_like(mask).scatter_(1, lowest, True)
        return tokens


SAMPLE_ELEMENTS = 2**23  # noise elements per decoding step and GPU pass (x4 bytes)


def _gumbel(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise, drawn in float64 on the CPU generator, returned as float32 (CPU)."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64).clamp_(1e-20, 1.0)
    return (-torch.log(-torch.log(u))).float()
