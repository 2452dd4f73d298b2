"""``ncsweep train stage1|stage2|evaluator``: one stage on one device, no Ray, no MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ncsweep.cli.common import config_source, print_final, progress_printer, user_errors


@click.group()
def train() -> None:
    """Train one stage on one device (no Ray, no MLflow). Resumes from OUT/checkpoint.pt."""


def build_stage1_config(config_file: Path | None, flags: dict[str, Any]):
    """Defaults ← YAML file (a Stage1Config mapping) ← explicit command-line flags."""
    from ncsweep.config import Stage1Config, deep_merge, from_dict, load_yaml

    base = load_yaml(config_file) if config_file else {}
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
    return from_dict(Stage1Config, deep_merge(base, changes), config_source(config_file))


@train.command("stage1")
@click.option("--dataset", help="UCR dataset name, e.g. SonyAIBORobotSurface1.")
@click.option("--ssl", type=click.Choice(["none", "barlowtwins", "vibcreg"]), help="SSL method.")
@click.option(
    "--aug", type=click.Choice(["warp", "slice", "gauss"]), help="Augmentation of the 2nd view."
)
@click.option("--zeta", type=float, help="Weight of the augmented view's reconstruction (ζ).")
@click.option("--seed", type=int, help="Random seed (same seed → same metrics on CPU).")
@click.option("--epochs", type=int, help="Training epochs (study: 1000).")
@click.option("--batch-size", type=int, help="Batch size (study: 128).")
@click.option("--eval-every", type=int, help="Probe KNN/SVM every N epochs (and at the end).")
@click.option("--checkpoint-every", type=int, help="Write OUT/checkpoint.pt every N epochs.")
@click.option("--device", help="auto | cpu | cuda | cuda:N (auto: CUDA when available).")
@click.option("--threads", type=int, help="torch CPU threads (0: torch's default).")
@click.option("--data-root", help="UCR archive root (else $NCSWEEP_UCR_ROOT, else bundled data).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="YAML with any Stage1Config keys (e.g. ssl.proj_hidden).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run directory.")
@click.option(
    "--resume/--no-resume", default=True, show_default=True, help="Continue from OUT/checkpoint.pt."
)
def stage1(config_file: Path | None, out: Path, resume: bool, **flags: Any) -> None:
    """Train the stage-1 VQ-VAE tokenizer (optionally NC-VQVAE with an SSL loss).

    Progress goes to stderr; the final metrics are printed as one JSON object on the last
    line of stdout and written to OUT/metrics.json next to OUT/checkpoint.pt.

    \b
    Example (CPU, a minute):
      ncsweep train stage1 --dataset SonyAIBORobotSurface1 --ssl vibcreg --aug warp \\
          --epochs 3 --out runs/s1
    """
    with user_errors():
        cfg = build_stage1_config(config_file, flags)
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
