"""Window warp then amplitude resize (spec §1, ``warp``).

Window warp (Le Guennec et al. 2016, as in the thesis code): stretch a window of w samples by a
factor s with linear interpolation, splice it back, then linearly resample the whole series to L.
The thesis ran ``np.interp`` twice per sample; here both interpolations are gathers over the whole
batch. The spliced series is never materialised: a warped index k maps to a source position q(k)
in x, and the output samples the spliced series at fractional positions p by interpolating
between the two neighbouring warped samples k0 = ⌊p⌋ and k0 + 1, exactly as the two
``np.interp`` calls do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from ncsweep.augment._random import check_batch, normal, uniform
from ncsweep.config.stage1 import AugmentConfig


def interp(x: Tensor, pos: Tensor) -> Tensor:
    """Linear interpolation of x (B, L) at fractional positions pos (B, N) in [0, L-1]."""
    last = x.shape[1] - 1
    pos = pos.clamp(0, last)
    i0 = pos.floor().long().clamp_(max=max(last - 1, 0))  # (B, N) so that i0 + 1 stays valid
    i1 = (i0 + 1).clamp_(max=last)
    t = pos - i0.to(pos.dtype)
    return x.gather(1, i0) * (1 - t) + x.gather(1, i1) * t


def _source_pos(k: Tensor, start: Tensor, w: int, m: Tensor) -> Tensor:
    """Position in x of warped index k (B, N); window [start, start+w) became m samples."""
    start, m = start[:, None].to(k.dtype), m[:, None].to(k.dtype)  # (B, 1)
    inside = start + (k - start) * (w - 1) / (m - 1).clamp(min=1)  # linspace(0, w-1, m)
    after = k - m + w
    return torch.where(k < start, k, torch.where(k < start + m, inside, after))


def stretch_window(x: Tensor, start: Tensor, w: int, m: Tensor) -> Tensor:
    """Resample x[b, start_b : start_b + w] to m_b samples, splice, resample to L.

    x: (B, L); start, m: (B,) long. Deterministic core of :func:`window_warp`.
    """
    length = x.shape[1]
    n_warped = (length - w + m).to(x.dtype)[:, None]  # (B, 1) spliced series length
    j = torch.arange(length, device=x.device, dtype=x.dtype)[None]  # (1, L)
    p = j * (n_warped - 1) / max(length - 1, 1)  # (B, L) position in the spliced series
    k0 = p.floor().clamp(max=n_warped - 1)
    k1 = (k0 + 1).clamp(max=n_warped - 1)
    f = p - k0
    y0 = interp(x, _source_pos(k0, start, w, m))
    y1 = interp(x, _source_pos(k1, start, w, m))
    return y0 * (1 - f) + y1 * f


def window_warp(
    x: Tensor,
    generator: torch.Generator | None = None,
    *,
    window_ratio: float = 0.4,
    scale: tuple[float, float] = (0.9, 2.0),
) -> Tensor:
    """Stretch one random window per series by s ~ U(scale), resample to L. x: (B, L) → (B, L)."""
    check_batch(x)
    b, length = x.shape
    w = min(max(round(window_ratio * length), 1), length)
    start = (uniform((b,), x, generator) * (length - w + 1)).long().clamp_(max=length - w)  # (B,)
    s = scale[0] + (scale[1] - scale[0]) * uniform((b,), x, generator)  # (B,)
    m = (w * s).round().long().clamp_(min=1)  # (B,) warped window length
    return stretch_window(x, start.to(x.device), w, m.to(x.device))


def amplitude_resize(
    x: Tensor, generator: torch.Generator | None = None, *, std: float = 0.2
) -> Tensor:
    """Multiply each series by 1 + N(0, std²), one factor per series. x: (B, L) → (B, L)."""
    check_batch(x)
    return x * (1 + std * normal((x.shape[0], 1), x, generator))


def warp(
    x: Tensor,
    generator: torch.Generator | None = None,
    *,
    window_ratio: float = 0.4,
    scale: tuple[float, float] = (0.9, 2.0),
    amplitude_std: float = 0.2,
) -> Tensor:
    """Window warp then amplitude resize. x: (B, L) → (B, L)."""
    y = window_warp(x, generator, window_ratio=window_ratio, scale=scale)
    return amplitude_resize(y, generator, std=amplitude_std)


def make_warp(cfg: AugmentConfig) -> Callable[..., Tensor]:
    return partial(
        warp,
        window_ratio=cfg.warp_window_ratio,
        scale=tuple(cfg.warp_scale),
        amplitude_std=cfg.amplitude_std,
    )
