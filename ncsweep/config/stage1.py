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


ZETA = 0.2  # ζ of the thesis runs; a baseline keeps it (unused) and may not change it

# Metadata of a field added after trial keys were first issued: at its default it is left out of a
# trial's key (study/expand.py), so a study launched before the field existed keeps its keys.
LATE = {"late": True}


def late(default):
    return field(default=default, metadata=LATE)


@dataclass(frozen=True)
class SSLConfig:
    LIMITS = {
        "zeta": ">=0",
        "proj_hidden": ">=1",
        "proj_out": ">=1",
        "bt_lambda": ">=0",
        "bt_eps": ">0",
        "vibcreg_sim": ">=0",
        "vibcreg_var": ">=0",
        "vibcreg_cov": ">=0",
        "vibcreg_scale": ">0",
        "vibcreg_var_eps": ">0",
        "iternorm_groups": ">=1",
        "iternorm_iters": ">=1",
        "iternorm_eps": ">0",
        "iternorm_momentum": "[0,1]",
    }
    method: str = "none"  # registry name: none | barlowtwins | vibcreg
    augmentation: str | None = None  # registry name: warp | slice | gauss (None for ssl=none)
    zeta: float = ZETA  # weight of the augmented view's reconstruction
    proj_hidden: int = 4096
    proj_out: int = 4096
    # Barlow Twins: redundancy weight λ; eps added to the per-feature std when standardising
    bt_lambda: float = 0.005
    bt_eps: float = late(1e-8)
    # VIbCReg: scale · [sim·mse + var·(var1 + var2) + cov·(cov1 + cov2)] (λ, μ, ν of the paper and
    # the thesis code's 0.01 factor); var_eps inside the variance hinge's sqrt(Var + eps)
    vibcreg_sim: float = late(25.0)
    vibcreg_var: float = late(25.0)
    vibcreg_cov: float = late(100.0)
    vibcreg_scale: float = late(0.01)
    vibcreg_var_eps: float = late(1e-4)
    # IterNorm before VIbCReg: groups, Newton iterations T, eps added to Σ, running-stat momentum
    iternorm_groups: int = 64
    iternorm_iters: int = 5
    iternorm_eps: float = late(1e-5)
    iternorm_momentum: float = late(0.1)

    def __post_init__(self) -> None:
        if self.method != "none" and self.augmentation is None:
            raise ValueError(
                f"ssl.method={self.method!r} needs ssl.augmentation (warp, slice or gauss)"
            )
        if self.zeta < 0:
            raise ValueError(f"ssl.zeta must be >= 0, got {self.zeta}")
        self._check_baseline()

    def _check_baseline(self) -> None:
        """The naive VQ-VAE has no augmented view, so neither an augmentation nor a ζ of its own
        (study.md): refused here, once, for every caller. A baseline with one would be a trial
        of its own that the tables label "Baseline", counting that cell's seeds twice."""
        if self.method != "none":
            return
        if self.augmentation is not None:
            raise ValueError(
                f"ssl.augmentation={self.augmentation!r}: the naive VQVAE (ssl.method='none') "
                "trains without an augmented view; drop the augmentation or choose ssl.method "
                "barlowtwins or vibcreg"
            )
        if self.zeta != ZETA:
            raise ValueError(
                f"ssl.zeta={self.zeta!r}: the naive VQVAE (ssl.method='none') has no augmented "
                "view to weight; drop ζ or choose ssl.method barlowtwins or vibcreg"
            )


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
class ProbeConfig:
    """The stage-1 probes on frozen features (spec §1): KNN's k and the linear SVM's C.

    ``svm_max_iter`` bounds libsvm's solver (its own default is no bound): on Mallat a Barlow
    Twins run's epoch-100 features kept it busy for over 30 minutes on 55 training series. A
    fit that converges is unchanged; one that hits the bound is used as it stands, with
    scikit-learn's ConvergenceWarning."""

    LIMITS = {"knn_k": ">=1", "svm_c": ">0", "svm_max_iter": ">=1"}
    knn_k: int = late(5)
    svm_c: float = late(1.0)
    svm_max_iter: int = late(1_000_000)


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
        "device": "device",
    }
    seed: int = 0
    eval_every: int = 50  # probe accuracy every N epochs (and always at the end)
    checkpoint_every: int = 50
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int = 0  # torch CPU threads; 0 = leave torch's default
    # validation over the whole test split every N epochs; None = on probe epochs only (issue 15:
    # on Mallat a pass costs 5-15 training epochs); always on probe epochs and the last one
    val_every: int | None = late(None)

    def __post_init__(self) -> None:
        if self.val_every is not None and self.val_every < 0:
            raise ValueError(f"run.val_every must be >= 0 or null, got {self.val_every}")

    def probes(self, epoch: int, epochs: int) -> bool:
        """Whether epoch ``epoch`` (1-based) of ``epochs`` runs the probes."""
        return epoch >= epochs or _due(epoch, self.eval_every)

    def validates(self, epoch: int, epochs: int) -> bool:
        """Whether epoch ``epoch`` validates: its own cadence, every probe epoch, the last."""
        return self.probes(epoch, epochs) or _due(epoch, self.val_every or 0)

    def validations(self, epochs: int) -> tuple[int, int]:
        """(validation passes, probe passes) of a whole run: what the plan prices."""
        ks = range(1, epochs + 1)
        return sum(self.validates(k, epochs) for k in ks), sum(self.probes(k, epochs) for k in ks)


def _due(epoch: int, every: int) -> bool:
    return every > 0 and epoch % every == 0


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
    probe: ProbeConfig = field(default_factory=ProbeConfig, metadata=LATE)
