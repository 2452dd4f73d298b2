"""``ncsweep train evaluator``: the FCN that scores generated series (IS, FID, CAS), cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ncsweep.cli.common import check_device, config_from, print_final, user_errors


@click.command("evaluator")
@click.option("--dataset", required=True, help="UCR dataset name, e.g. SonyAIBORobotSurface1.")
@click.option("--epochs", type=int, help="Training epochs. [default: 1000, the study's]")
@click.option("--batch-size", type=int, help="Batch size. [default: 256]")
@click.option("--seed", type=int, help="Random seed. [default: 0]")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evaluator cache (else $NCSWEEP_CACHE/evaluators, else ~/.cache/ncsweep/evaluators).",
)
@click.option(
    "--data-root",
    help="UCR archive root; must exist. [default: $NCSWEEP_UCR_ROOT, else the bundled data]",
)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="YAML with any EvaluatorConfig keys (epochs, batch_size, lr, weight_decay, seed).",
)
def evaluator(
    config_file: Path | None, dataset: str, data_root: str | None, device: str, **flags: Any
) -> None:
    """Train the FCN evaluator of DATASET once, or find it in the cache.

    The cache is keyed by the dataset's contents and this config. `ncsweep train stage2` reads
    the same default cache; a study keeps its own in STORAGE/evaluators (fill it with
    --cache-dir STORAGE/evaluators). Prints one JSON object on the last line of stdout:
    dataset, test_acc, path, trained (false = cache hit), seconds (of the training that made it).

    \b
    Example (CPU, ~a minute):
      ncsweep train evaluator --dataset SonyAIBORobotSurface1 --epochs 50
    """
    with user_errors():
        from ncsweep.config import EvaluatorConfig
        from ncsweep.data import load_ucr
        from ncsweep.train.common import resolve_device
        from ncsweep.train.evaluator import get_evaluator

        changes = {k: v for k, v in flags.items() if v is not None}
        if "cache_dir" in changes:
            changes["cache_dir"] = str(changes["cache_dir"])
        cfg = config_from(EvaluatorConfig, config_file, changes)
        check_device(device)
        ds = load_ucr(dataset, data_root)
        log = lambda line: click.echo(line, err=True)  # noqa: E731
        _, info = get_evaluator(ds, cfg, resolve_device(device), log=log)
    print_final({"dataset": dataset, **info})
