"""Stage-1 (VQ-VAE tokenizer) config. Defaults are the numbers of spec/method.md §0-§1."""

from __future__ import annotations

from dataclasses import dataclass, field

# Value rules of a config class, in its plain class attribute LIMITS {field: rule}; checked by
# config.base.from_dict with config.base.outside (">0", ">=1", "[0,1)", ...).
OPTIM_LIMITS = {"lr": ">0", "weight_decay": ">=0", "batch_size": ">=1", "epochs": ">=1"}


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "SonyAIBORobotSurface1"
    # UCR root; None → $NCSWEEP_UCR_ROOT, else the datasets bundled with ncsweep.
    root: str | None = None


@dataclass(frozen=True)
class STFTConfig:
    LIMITS = {
        "n_fft": ">=2",
        "hop_length": ">=1",
        "win_length": ">=1",
    }
    n_fft: int = 8
    hop_length: int = 2
    win_length: int = 8


@dataclass(frozen=True)
class EncoderConfig:
    LIMITS = {
        "dim": ">=1",
        "downsampled_width": ">=1",
        "n_res_blocks": ">=0",
    }
    dim: int = 64
    # latent frames ≈ downsampled_width; rate = max(1, round(L / (log2(n_fft) - 1) / width))
    downsampled_width: int = 8
    n_res_blocks: int = 4


@dataclass(frozen=True)
class VQConfig:
    LIMITS = {
        "codebook_size": ">=2",
        "decay": "[0,1)",
        "eps": ">0",
        "beta": ">=0",
    }
    codebook_size: int = 32
    decay: float = 0.9
    eps: float = 1e-5
    beta: float = 1.0


@dataclass(frozen=True)
class SSLConfig:
    LIMITS = {
        "zeta": ">=0",
        "proj_hidden": ">=1",
        "proj_out": ">=1",
        "bt_lambda": ">=0",
        "iternorm_groups": ">=1",
        "iternorm_iters": ">=1",
    }
    method: str = "none"  # registry name: none | barlowtwins | vibcreg
    augmentation: str | None = None  # registry name: warp | slice | gauss (None for ssl=none)
    zeta: float = 0.2  # weight of the augmented view's reconstruction
    proj_hidden: int = 4096
    proj_out: int = 4096
    bt_lambda: float = 0.005
    iternorm_groups: int = 64
    iternorm_iters: int = 5

    def __post_init__(self) -> None:
        if self.method != "none" and self.augmentation is None:
            raise ValueError(
                f"ssl.method={self.method!r} needs ssl.augmentation (warp, slice or gauss)"
            )
        if self.zeta < 0:
            raise ValueError(f"ssl.zeta must be >= 0, got {self.zeta}")


@dataclass(frozen=True)
class AugmentConfig:
    LIMITS = {
        "warp_window_ratio": "(0,1]",
        "amplitude_std": ">=0",
        "slice_cuts": ">=1",
        "gauss_std": ">=0",
    }
    warp_window_ratio: float = 0.4
    warp_scale: tuple[float, float] = (0.9, 2.0)
    amplitude_std: float = 0.2
    slice_cuts: int = 3
    gauss_std: float = 0.05


@dataclass(frozen=True)
class OptimConfig:
    LIMITS = OPTIM_LIMITS
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 128
    epochs: int = 1000


@dataclass(frozen=True)
class RunConfig:
    LIMITS = {
        "eval_every": ">=0",
        "checkpoint_every": ">=0",
        "num_threads": ">=0",
    }
    seed: int = 0
    eval_every: int = 50  # probe accuracy every N epochs (and always at the end)
    checkpoint_every: int = 50
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int = 0  # torch CPU threads; 0 = leave torch's default


@dataclass(frozen=True)
class Stage1Config:
    data: DataConfig = field(default_factory=DataConfig)
    stft: STFTConfig = field(default_factory=STFTConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    vq: VQConfig = field(default_factory=VQConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
