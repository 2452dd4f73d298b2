"""The ``ncsweep`` command. Subcommands live in small modules and import heavy libraries lazily,
so ``ncsweep --help`` answers at once."""

from __future__ import annotations

import importlib

import click

# name → "module:attribute" of a click command or group; loaded only when used.
_COMMANDS = {
    "train": "ncsweep.cli.train:train",
    "sample": "ncsweep.cli.sample:sample",
    "data": "ncsweep.cli.data:data",
    "plan": "ncsweep.cli.sweep:plan",
    "run": "ncsweep.cli.sweep:run",
    "resume": "ncsweep.cli.sweep:resume",
    "status": "ncsweep.cli.status:status",
    "sync": "ncsweep.cli.sync:sync",
    "tables": "ncsweep.cli.tables:tables",
    "figures": "ncsweep.cli.figures:figures",
    "dashboard": "ncsweep.cli.tables:dashboard",
}

_HELP = {
    "train": "Train one stage on one device, without Ray or MLflow: "
    "`train stage1`, `train stage2`, `train evaluator` (the FCN that scores samples).",
    "sample": "Sample series from a trained stage-2 prior; writes .npy and a PNG.",
    "data": "Inspect, check and download UCR datasets.",
    "plan": "Expand a YAML search space and show the study without running it.",
    "run": "Run a study on a local or existing Ray cluster (resumes what is finished).",
    "resume": "Resume a study from its storage directory.",
    "status": "Show the state of every trial of a study from its storage directory.",
    "sync": "Create or complete a study's MLflow runs from its storage directory.",
    "tables": "Rebuild the paper's tables (and figures) from MLflow runs.",
    "figures": "Rebuild the paper's figures and their index.json from MLflow runs.",
    "dashboard": "Serve the MLflow UI for a study's store on 127.0.0.1.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ncsweep")
def main() -> None:
    """ncsweep: run the NC-VQVAE study (VQ-VAE tokenizer + MaskGIT prior on UCR time series)
    as dependency-aware Ray Tune sweeps, tracked in MLflow.

    \b
    Quickstart:
      ncsweep run search_spaces/quickstart.yaml --storage runs/quickstart
      ncsweep status runs/quickstart
      ncsweep tables runs/quickstart --out runs/quickstart/tables
    """
