"""Stage-1 decoder of spec §1: the encoder mirrored with transposed convolutions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ncsweep.config.stage1 import EncoderConfig, STFTConfig
from ncsweep.models.encoder import KERNEL, PADDING, STRIDE, n_downsample_blocks, res_stack
from ncsweep.models.stft import n_frames, n_freqs
from ncsweep.models.viewnorm import BatchNorm2d


class UpBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PADDING),
            BatchNorm2d(c_out),
            nn.LeakyReLU(0.01, inplace=True),
        )


class Decoder(nn.Module):
    """z (B, dim, F, W') → û (B, 2, F, L//2+1)."""

    def __init__(self, length: int, stft_cfg: STFTConfig, enc_cfg: EncoderConfig, out_channels=2):
        super().__init__()
        d = enc_cfg.dim
        n_up = max(n_downsample_blocks(length, stft_cfg, enc_cfg) - 1, 0)
        self.net = nn.Sequential(
            *res_stack(d, enc_cfg.n_res_blocks),
            *[UpBlock(d, d) for _ in range(n_up)],
            nn.ConvTranspose2d(d, out_channels, KERNEL, STRIDE, PADDING),
            nn.ConvTranspose2d(out_channels, out_channels, 3, 1, 1),
        )
        # Each transposed block doubles W'; W' = (L//2+1) // 2**n rounds down, so the last
        # frames are restored by interpolation to the exact STFT size.
        self.out_size = (n_freqs(stft_cfg), n_frames(length, stft_cfg))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        u = self.net(z)  # (B, 2, F, ≈ L//2+1)
        if tuple(u.shape[-2:]) != self.out_size:
            u = F.interpolate(u, size=self.out_size, mode="nearest")
        return u  # (B, 2, F, L//2+1)
