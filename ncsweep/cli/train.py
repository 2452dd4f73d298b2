"""``ncsweep train stage1|stage2|evaluator``: one stage on one device, no Ray, no MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ncsweep.cli.common import (
    check_device,
    config_from,
    print_final,
    progress_printer,
    run_dir_options,
    user_errors,
)
from ncsweep.config import Stage1Config

# The defaults shown in --help, read from the config itself so that they cannot drift from it.
_D = Stage1Config()


@click.group()
def train() -> None:
    """Train one stage on one device (no Ray, no MLflow): stage1, stage2 or the FCN evaluator.
    Resumes from OUT/checkpoint.pt."""


def build_stage1_config(config_file: Path | None, flags: dict[str, Any]):
    """Defaults ← YAML file (a Stage1Config mapping) ← explicit command-line flags."""
    changes: dict[str, Any] = {}
    set_ = lambda section, key, v: changes.setdefault(section, {}).__setitem__(key, v)  # noqa: E731
    for flag, (section, key) in {
        "dataset": ("data", "dataset"),
        "data_root": ("data", "root"),
        "ssl": ("ssl", "method"),
        "aug": ("ssl", "augmentation"),
        "zeta": ("ssl", "zeta"),
        "seed": ("run", "seed"),
        "epochs": ("optim", "epochs"),
        "batch_size": ("optim", "batch_size"),
        "eval_every": ("run", "eval_every"),
        "checkpoint_every": ("run", "checkpoint_every"),
        "device": ("run", "device"),
        "threads": ("run", "num_threads"),
    }.items():
        if flags.get(flag) is not None:
            set_(section, key, flags[flag])
    # the config refuses what does not fit (a baseline with --aug or --zeta, ...), naming the key
    return config_from(Stage1Config, config_file, changes)


@train.command("stage1")
@click.option("--dataset", help=f"UCR dataset name. [default: {_D.data.dataset}]")
@click.option(
    "--ssl",
    type=click.Choice(["none", "barlowtwins", "vibcreg"]),
    help=f"SSL method. [default: {_D.ssl.method}]",
)
@click.option(
    "--aug",
    type=click.Choice(["warp", "slice", "gauss"]),
    help="Augmentation of the 2nd view (SSL methods only). [default: none]",
)
@click.option(
    "--zeta",
    type=float,
    help=f"Weight ζ of the augmented view's reconstruction. [default: {_D.ssl.zeta}]",
)
@click.option(
    "--seed",
    type=int,
    help=f"Random seed (same seed → same metrics on CPU). [default: {_D.run.seed}]",
)
@click.option(
    "--epochs",
    type=int,
    help=f"Training epochs. [default: {_D.optim.epochs}, the study's: with the "
    f"{_D.ssl.proj_hidden}-wide SSL projector that is hours on a CPU; try --epochs 3 first]",
)
@click.option("--batch-size", type=int, help=f"Batch size. [default: {_D.optim.batch_size}]")
@click.option(
    "--eval-every",
    type=int,
    help=f"Probe KNN/SVM every N epochs (and at the end). [default: {_D.run.eval_every}]",
)
@click.option(
    "--checkpoint-every",
    type=int,
    help=f"Write OUT/checkpoint.pt every N epochs. [default: {_D.run.checkpoint_every}]",
)
@click.option(
    "--device",
    help=f"auto | cpu | cuda | cuda:N (auto: CUDA when available). [default: {_D.run.device}]",
)
@click.option(
    "--threads",
    type=int,
    help=f"torch CPU threads (0: torch's default). [default: {_D.run.num_threads}]",
)
@click.option(
    "--data-root",
    help="UCR archive root; must exist. [default: $NCSWEEP_UCR_ROOT, else the bundled data]",
)
@run_dir_options("YAML with any Stage1Config keys (e.g. ssl.proj_hidden).")
def stage1(config_file: Path | None, out: Path, resume: bool, **flags: Any) -> None:
    """Train the stage-1 VQ-VAE tokenizer (optionally NC-VQVAE with an SSL loss).

    Every flag left out takes the study's value (see [default: ...] below): leaving out
    --epochs trains for the full 1000 epochs. A --config file sets any other key; flags win.

    Progress goes to stderr; the final metrics are printed as one JSON object on the last
    line of stdout and written to OUT/metrics.json next to OUT/checkpoint.pt.

    \b
    Example (CPU, a minute):
      ncsweep train stage1 --dataset SonyAIBORobotSurface1 --ssl vibcreg --aug warp \\
          --epochs 3 --out runs/s1
    """
    with user_errors():
        cfg = build_stage1_config(config_file, flags)
        check_device(cfg.run.device)
        from ncsweep.data import resolve_roots

        resolve_roots(cfg.data.root)  # a root that does not exist: refused before OUT is made
        from ncsweep.train.stage1 import run_stage1

        keys = ("train/total", "val/recon", "perplexity", "knn_acc", "svm_acc")
        final = run_stage1(cfg, out, progress_printer(cfg.optim.epochs, keys), resume=resume)
    print_final(final)


def _register_stage2() -> None:
    try:
        from ncsweep.cli.train_evaluator import evaluator
        from ncsweep.cli.train_stage2 import stage2
    except ImportError:  # stage 2 not installed in this build
        return
    train.add_command(stage2)
    train.add_command(evaluator)


_register_stage2()
