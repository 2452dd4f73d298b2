"""Time-frequency transform of spec §1: STFT with real and imaginary parts stacked as channels."""

from __future__ import annotations

import torch

from ncsweep.config.stage1 import STFTConfig

# Hann windows built lazily, one per (length, device, dtype): nothing happens at import time.
_WINDOWS: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}


def _window(cfg: STFTConfig, like: torch.Tensor) -> torch.Tensor:
    key = (cfg.win_length, str(like.device), like.dtype)
    if key not in _WINDOWS:
        _WINDOWS[key] = torch.hann_window(cfg.win_length, device=like.device, dtype=like.dtype)
    return _WINDOWS[key]


def n_frames(length: int, cfg: STFTConfig) -> int:
    """Frames of a centred STFT: L // hop + 1 (L//2+1 for the default hop of 2)."""
    return length // cfg.hop_length + 1


def n_freqs(cfg: STFTConfig) -> int:
    """One-sided frequency bins: n_fft // 2 + 1 (5 for n_fft = 8)."""
    return cfg.n_fft // 2 + 1


def stft(x: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """(B, L) → u (B, 2, F, L//hop+1): channel 0 real, channel 1 imaginary."""
    spec = torch.stft(
        x,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=_window(cfg, x),
        center=True,
        onesided=True,
        return_complex=True,
    )  # (B, F, T) complex
    return torch.stack([spec.real, spec.imag], dim=1)  # (B, 2, F, T)


def istft(u: torch.Tensor, length: int, cfg: STFTConfig) -> torch.Tensor:
    """(B, 2, F, T) → (B, length). Passing ``length`` keeps the last sample of odd L (spec fix)."""
    spec = torch.complex(u[:, 0].contiguous(), u[:, 1].contiguous())  # (B, F, T)
    return torch.istft(
        spec,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=_window(cfg, u),
        center=True,
        onesided=True,
        length=length,
    )  # (B, L)
