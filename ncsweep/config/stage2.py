"""Stage-2 (MaskGIT prior) and evaluation config. Defaults follow spec/method.md §2-§3."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ncsweep.config.stage1 import LATE, OPTIM_LIMITS, OptimConfig, RunConfig, late


@dataclass(frozen=True)
class PriorConfig:
    LIMITS = {
        "hidden": ">=1",
        "n_layers": ">=1",
        "n_heads": ">=1",
        "head_dim": ">=1",
        "ff_ratio": ">=1",
        "dropout": "[0,1)",
        "p_uncond": "[0,1]",
    }
    hidden: int = 256
    n_layers: int = 4
    n_heads: int = 2
    head_dim: int = 64
    ff_ratio: int = 1
    dropout: float = 0.0
    p_uncond: float = 0.2
    mask_schedule: str = "cosine"  # registry name


@dataclass(frozen=True)
class SamplingConfig:
    LIMITS = {
        "steps": ">=1",
        "temperature": ">0",
        "gumbel_scale": ">=0",
        "guidance": ">=0",
        "batch_size": ">=1",
    }
    steps: int = 10
    temperature: float = 1.0
    gumbel_scale: float = 4.0
    guidance: float = 1.0
    batch_size: int = 256


@dataclass(frozen=True)
class TokenConfig:
    """The stage-1 tokens the prior trains and validates on (docs/ARCHITECTURE.md, stage 2).

    ``nearest`` (default, spec §2): the deterministic nearest code of each latent, the same
    tokens the decoder sees at sampling time and a fixed training set. ``sampled``: the thesis
    code's behaviour, a token drawn per position from softmax(−‖z − e_k‖² / temperature), redrawn
    for every training batch; validation uses one fixed draw of the test split."""

    LIMITS = {"temperature": ">0"}
    source: Literal["nearest", "sampled"] = late("nearest")
    temperature: float = late(1.0)  # the thesis code's 1 (in train and eval)


@dataclass(frozen=True)
class PriorOptimConfig(OptimConfig):
    """Stage 1's optimiser fields (AdamW + per-step cosine, same defaults) at the prior's batch."""

    batch_size: int = 256


@dataclass(frozen=True)
class EvaluatorConfig:
    """The FCN that scores generated series (spec §3); also the CAS classifier's recipe."""

    LIMITS = OPTIM_LIMITS
    epochs: int = 1000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    seed: int = 0
    cache_dir: str | None = None  # None → $NCSWEEP_CACHE, else ~/.cache/ncsweep/evaluators


@dataclass(frozen=True)
class GenEvalConfig:
    LIMITS = {
        "is_splits": ">=1",
        "n_fid": ">=0",
        "cas_min_samples": ">=1",
        "cas_epochs": ">=1",
    }
    is_splits: int = 10
    n_fid: int = 0  # 0 = as many as the test split
    cas_min_samples: int = 1000
    cas_epochs: int = 1000


@dataclass(frozen=True)
class Stage2Config:
    stage1: str = ""  # stage-1 run directory (holds checkpoint.pt); required
    prior: PriorConfig = field(default_factory=PriorConfig)
    optim: PriorOptimConfig = field(default_factory=PriorOptimConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    eval: GenEvalConfig = field(default_factory=GenEvalConfig)
    run: RunConfig = field(default_factory=RunConfig)
    dataset: str | None = None  # if set, must match the stage-1 checkpoint's dataset
    tokens: TokenConfig = field(default_factory=TokenConfig, metadata=LATE)
