"""Stage-1 encoder of spec §1: strided Conv2d blocks over time, then residual blocks.

The layer layout follows TimeVQVAE (Lee et al., arXiv:2303.04743), whose code the thesis used.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ncsweep.config.stage1 import EncoderConfig, STFTConfig
from ncsweep.models.stft import n_frames, n_freqs
from ncsweep.models.viewnorm import BatchNorm2d

# Stride 2 along time only; the 5 frequency bins keep their size (k=3, p=1 along frequency).
KERNEL = (3, 4)
STRIDE = (1, 2)
PADDING = (1, 1)


def downsample_rate(length: int, n_fft: int, downsampled_width: int) -> int:
    """The thesis code's rule; Python's round is banker's rounding (round(9.5) = 10 at L=152)."""
    return max(1, round(length / (math.log2(n_fft) - 1) / downsampled_width))


def n_downsample_blocks(length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig) -> int:
    """n = int(log2(rate)) stride-2 blocks."""
    rate = downsample_rate(length, stft_cfg.n_fft, enc_cfg.downsampled_width)
    return int(math.log2(rate))


def latent_shape(length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig) -> tuple[int, int]:
    """(H, W') of z: each stride-2 block maps W to floor((W + 2 - 4) / 2) + 1 = W // 2."""
    width = n_frames(length, stft_cfg)
    for _ in range(n_downsample_blocks(length, stft_cfg, enc_cfg)):
        width = (width + 2 * PADDING[1] - KERNEL[1]) // STRIDE[1] + 1
    return n_freqs(stft_cfg), width


class DownBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, KERNEL, STRIDE, PADDING, padding_mode="replicate"),
            BatchNorm2d(c_out),
            nn.LeakyReLU(0.01, inplace=True),
        )


class ResBlock(nn.Module):
    """x + [LeakyReLU → Conv3×3 → (BN) → LeakyReLU → Conv1×1]; the caller adds the BN after it.

    The inner BN is the encoder's (``bn=True``); the thesis code's decoder blocks have none."""

    def __init__(self, dim: int, bn: bool = True):
        super().__init__()
        self.convs = nn.Sequential(
            nn.LeakyReLU(0.01),
            nn.Conv2d(dim, dim, 3, 1, 1),
            *([BatchNorm2d(dim)] if bn else []),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv2d(dim, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.convs(x)


def res_stack(dim: int, n_blocks: int, bn: bool = True) -> list[nn.Module]:
    """n residual blocks, each followed by BatchNorm2d (shared by encoder and decoder)."""
    layers: list[nn.Module] = []
    for _ in range(n_blocks):
        layers += [ResBlock(dim, bn), BatchNorm2d(dim)]
    return layers


class Encoder(nn.Module):
    """u (B, 2, F, L//2+1) → z (B, dim, F, W'). No output projection."""

    def __init__(self, length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig, in_channels=2):
        super().__init__()
        n_down = n_downsample_blocks(length, stft_cfg, enc_cfg)
        d = enc_cfg.dim
        blocks = [DownBlock(in_channels if i == 0 else d, d) for i in range(n_down)]
        if n_down == 0:  # very short series: no downsampling, still lift 2 → d channels
            blocks = [nn.Conv2d(in_channels, d, 3, 1, 1, padding_mode="replicate")]
        self.net = nn.Sequential(*blocks, *res_stack(d, enc_cfg.n_res_blocks))
        self.n_down = n_down

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(u)  # (B, 64, 5, W')
