"""Augmentations for the second SSL view: name → factory(cfg) → callable(x (B, L), generator).

Names are the words of YAML files and table columns (``ssl.augmentation``): ``warp``, ``slice``,
``gauss``. Every augmentation is a batched tensor op on x's device, redrawn on every call,
independently per sample, with randomness from the given ``torch.Generator`` (may be on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ncsweep.augment.gauss import gauss_noise, make_gauss
from ncsweep.augment.slice import make_slice, slice_shuffle
from ncsweep.augment.warp import amplitude_resize, make_warp, warp, window_warp
from ncsweep.config.stage1 import AugmentConfig

Augmentation = Callable[[Tensor, torch.Generator | None], Tensor]

AUGMENTATIONS: dict[str, Callable[[AugmentConfig], Augmentation]] = {
    "warp": make_warp,
    "slice": make_slice,
    "gauss": make_gauss,
}


def build_augmentation(name: str, cfg: AugmentConfig | None = None) -> Augmentation:
    """The augmentation registered as ``name``, parametrised by ``cfg`` (defaults if None)."""
    if name not in AUGMENTATIONS:
        raise ValueError(
            f"unknown augmentation {name!r}; known: {', '.join(sorted(AUGMENTATIONS))}"
        )
    return AUGMENTATIONS[name](cfg if cfg is not None else AugmentConfig())


__all__ = [
    "AUGMENTATIONS",
    "Augmentation",
    "amplitude_resize",
    "build_augmentation",
    "gauss_noise",
    "slice_shuffle",
    "warp",
    "window_warp",
]
