"""Random draws for batched augmentations.

The generator may live on the CPU while the batch lives on a GPU: draw on the generator's device,
then move, so that one seed gives the same augmentation whatever device trains.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _draw_device(x: Tensor, generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else x.device


def _dtype(x: Tensor) -> torch.dtype:
    # integer batches (e.g. index maps through slice) still need real-valued draws
    return x.dtype if x.is_floating_point() else torch.get_default_dtype()


def uniform(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    """U[0, 1) of ``shape`` on ``x``'s device and (floating) dtype."""
    u = torch.rand(shape, generator=generator, device=_draw_device(x, generator))
    return u.to(device=x.device, dtype=_dtype(x))


def normal(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    """N(0, 1) of ``shape`` on ``x``'s device and (floating) dtype."""
    n = torch.randn(shape, generator=generator, device=_draw_device(x, generator))
    return n.to(device=x.device, dtype=_dtype(x))


def check_batch(x: Tensor) -> None:
    if x.dim() != 2 or x.shape[1] < 1:
        raise ValueError(
            f"augmentations take a (B, L) batch with L >= 1, got shape {tuple(x.shape)}"
        )
