"""Stage-1 decoder of spec §1: the encoder mirrored with transposed convolutions.

Module for module the thesis code's decoder (its ``VQVAEDecoder``, from TimeVQVAE), in the same
order, so a state dict copied across in order gives the same output:
- 4 residual blocks WITHOUT the inner BatchNorm (the encoder's have one), each followed by BN;
- (n-1) × [ConvTranspose2d(k=(3,4), s=(1,2), p=(1,1)) → BN → LeakyReLU];
- ConvTranspose2d 64→2 and ConvTranspose2d 2→2, both k=(3,4), s=(1,2), p=(1,1): n+1 doublings
  of the width in all, one more than the encoder took away;
- a bilinear (align_corners=True) resize from (F, W'·2^(n+1)) to exactly (F, L//2+1), down from
  about twice the STFT width.
The thesis' Dropout(0.0) layers compute nothing and hold no state; they are left out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ncsweep.config.stage1 import EncoderConfig, STFTConfig
from ncsweep.models.encoder import (
    KERNEL,
    PADDING,
    STRIDE,
    latent_shape,
    n_downsample_blocks,
    res_stack,
)
from ncsweep.models.stft import n_frames, n_freqs
from ncsweep.models.viewnorm import BatchNorm2d


class UpBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PADDING),
            BatchNorm2d(c_out),
            nn.LeakyReLU(0.01, inplace=True),
        )


def n_upsample_blocks(length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig) -> int:
    """The (n-1) UpBlocks before the two output transposed convolutions."""
    return max(n_downsample_blocks(length, stft_cfg, enc_cfg) - 1, 0)


def pre_resize_width(length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig) -> int:
    """W' · 2^(n_up + 2): each transposed conv maps W to (W-1)·2 - 2 + 4 = 2W."""
    _, width = latent_shape(length, stft_cfg, enc_cfg)
    return width * 2 ** (n_upsample_blocks(length, stft_cfg, enc_cfg) + 2)


class Decoder(nn.Module):
    """z (B, dim, F, W') → û (B, 2, F, L//2+1)."""

    def __init__(self, length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig, out_channels=2):
        super().__init__()
        d = enc_cfg.dim
        n_up = n_upsample_blocks(length, stft_cfg, enc_cfg)
        self.net = nn.Sequential(
            *res_stack(d, enc_cfg.n_res_blocks, bn=False),
            *[UpBlock(d, d) for _ in range(n_up)],
            nn.ConvTranspose2d(d, out_channels, KERNEL, STRIDE, PADDING),
            # the thesis code's extra doubling "not to miss reconstruction details"
            nn.ConvTranspose2d(out_channels, out_channels, KERNEL, STRIDE, PADDING),
        )
        self.out_size = (n_freqs(stft_cfg), n_frames(length, stft_cfg))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        u = self.net(z)  # (B, 2, F, W'·2^(n+1)) ≈ twice the STFT width
        # always resized, as in the thesis code (at equal size this is the identity)
        return F.interpolate(u, size=self.out_size, mode="bilinear", align_corners=True)
