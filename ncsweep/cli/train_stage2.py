"""``ncsweep train stage2``: the MaskGIT prior on a stage-1 checkpoint, then IS/FID/CAS."""

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
from ncsweep.config import Stage2Config

_D = Stage2Config()  # the defaults --help shows

# command-line flag → (section or None for top level, key) in Stage2Config
_FLAGS = {
    "stage1": (None, "stage1"),
    "dataset": (None, "dataset"),
    "epochs": ("optim", "epochs"),
    "batch_size": ("optim", "batch_size"),
    "seed": ("run", "seed"),
    "checkpoint_every": ("run", "checkpoint_every"),
    "device": ("run", "device"),
    "threads": ("run", "num_threads"),
    "evaluator_cache": ("evaluator", "cache_dir"),
}


def build_stage2_config(config_file: Path | None, flags: dict[str, Any]):
    """Defaults ← YAML file (a Stage2Config mapping) ← explicit command-line flags."""
    changes: dict[str, Any] = {}
    for flag, (section, key) in _FLAGS.items():
        if flags.get(flag) is None:
            continue
        value = str(flags[flag]) if isinstance(flags[flag], Path) else flags[flag]
        (changes.setdefault(section, {}) if section else changes)[key] = value
    return config_from(Stage2Config, config_file, changes)


@click.command("stage2")
@click.option(
    "--stage1",
    type=click.Path(path_type=Path),
    help="Stage-1 run directory (or its checkpoint.pt).",
)
@click.option(
    "--dataset", help="Expected dataset; an error if the stage-1 checkpoint holds another."
)
@click.option(
    "--epochs",
    type=int,
    help=f"Prior training epochs. [default: {_D.optim.epochs}, the study's; try 3 first]",
)
@click.option("--batch-size", type=int, help=f"Batch size. [default: {_D.optim.batch_size}]")
@click.option("--seed", type=int, help=f"Random seed. [default: {_D.run.seed}]")
@click.option(
    "--checkpoint-every",
    type=int,
    help=f"Write OUT/checkpoint.pt every N epochs. [default: {_D.run.checkpoint_every}]",
)
@click.option("--device", help=f"auto | cpu | cuda | cuda:N. [default: {_D.run.device}]")
@click.option("--threads", type=int, help="torch CPU threads (0: torch's default). [default: 0]")
@click.option(
    "--evaluator-cache",
    type=click.Path(path_type=Path),
    help="Folder of cached FCN evaluators (else $NCSWEEP_CACHE/evaluators, else ~/.cache/ncsweep/evaluators).",
)
@run_dir_options("YAML with any Stage2Config keys (e.g. evaluator.epochs, eval.cas_epochs).")
def stage2(config_file: Path | None, out: Path, resume: bool, **flags: Any) -> None:
    """Train the class-conditional MaskGIT prior on a frozen stage-1 tokenizer, then score
    samples with IS, FID and CAS (the FCN evaluator is trained once per dataset and cached).

    Flags left out take the study's values (1000 prior epochs, a 1000-epoch FCN evaluator and
    CAS classifier); examples/stage2_smoke.yaml shortens them for a CPU try.

    Progress goes to stderr; the final metrics are printed as one JSON object on the last
    line of stdout and written to OUT/metrics.json.

    \b
    Example (CPU smoke run):
      ncsweep train stage2 --stage1 runs/s1 --epochs 3 --out runs/s2 \\
          --config examples/stage2_smoke.yaml
    """
    with user_errors():
        cfg = build_stage2_config(config_file, flags)
        check_device(cfg.run.device)
        from ncsweep.train.stage2 import run_stage2

        keys = ("train/prior_loss", "val/prior_loss", "val/token_acc", "fid", "is_mean", "cas")
        log = lambda msg: click.echo(msg, err=True)  # noqa: E731
        final = run_stage2(cfg, out, progress_printer(cfg.optim.epochs, keys), resume, log=log)
    print_final(final)
