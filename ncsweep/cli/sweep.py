"""``ncsweep plan | run | resume | status``: studies from search-space files.

Heavy imports (torch, Ray) happen inside the commands, so ``ncsweep --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ncsweep.cli.common import user_errors

_DATA_ROOT_HELP = (
    "UCR archive root for every trial; must exist (replaces the space's defaults.data.root; "
    "default: that, else $NCSWEEP_UCR_ROOT, else the bundled data)."
)


@click.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("--data-root", default=None, help=_DATA_ROOT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@click.option(
    "--gpus",
    type=click.IntRange(min=1),
    default=None,
    help="Also estimate the wall clock on N GPUs (needs --timings).",
)
@click.option(
    "--timings",
    type=click.Path(dir_okay=False),
    envvar="NCSWEEP_TIMINGS",
    default=None,
    help="Per-epoch timings measured by benchmarks/stage{1,2}_throughput.py --write-timings "
    "[env NCSWEEP_TIMINGS].",
)
def plan(
    space: str, data_root: str | None, as_json: bool, gpus: int | None, timings: str | None
) -> None:
    """Expand SPACE and show the study without running it: counts, dependencies, resources and,
    from measured timings, GPU-hours and the wall clock on N GPUs."""
    from ncsweep.study import load_study, render, summarize
    from ncsweep.study.timings import load_timings

    with user_errors():
        measured = load_timings(timings) if timings else None
        study, trials = load_study(space, data_root)
        summary = summarize(study, trials, gpus, measured)
    for m in summary["missing_datasets"]:
        where = ", ".join(m["looked_in"])
        click.echo(
            f"warning: dataset {m['dataset']} is not in the data root ({where}); "
            "`ncsweep run` will refuse to start until it is",
            err=True,
        )
    click.echo(json.dumps(summary, indent=2) if as_json else render(summary))


def _run_options(f):
    options = [
        click.option(
            "--address",
            default=None,
            help="Ray cluster HOST:PORT or auto (default: start a local Ray); one that does not "
            "answer within 10 s is refused before the storage is touched.",
        ),
        click.option("--num-cpus", type=int, default=None, help="CPUs of the local Ray."),
        click.option("--num-gpus", type=int, default=None, help="GPUs of the local Ray."),
        click.option("--max-concurrent", type=int, default=None, help="At most N trials at once."),
        click.option(
            "--max-failures",
            type=int,
            default=2,
            show_default=True,
            help="Retries per trial (each resumes from its last checkpoint).",
        ),
        click.option(
            "--tracking-uri",
            default=None,
            help="MLflow store (default: sqlite:///<storage>/mlflow.db).",
        ),
        click.option("--no-tracking", is_flag=True, help="Do not log to MLflow."),
        click.option("--data-root", default=None, help=_DATA_ROOT_HELP),
        click.option(
            "--reuse-actors",
            is_flag=True,
            help="Reuse Ray worker processes between trials (saves ~4 s per trial; for many "
            "short trials, may leave a GPU idle while trials wait on dependencies).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _options(
    address,
    num_cpus,
    num_gpus,
    max_concurrent,
    max_failures,
    tracking_uri,
    no_tracking,
    data_root,
    reuse_actors,
):
    from ncsweep.sweep.driver import RunOptions

    uri = "" if no_tracking else tracking_uri
    return RunOptions(
        address, num_cpus, num_gpus, max_concurrent, uri, max_failures, reuse_actors, data_root
    )


def _exit_with(counts: dict) -> None:
    bad = sum(c["failed"] + c["skipped"] for c in counts.values())
    if bad:
        click.echo(f"{bad} trial(s) failed or were skipped: see `ncsweep status`", err=True)
        sys.exit(1)


@click.command()
@click.argument("space", type=click.Path(dir_okay=False))
@click.option(
    "--storage",
    type=click.Path(file_okay=False),
    default=None,
    help="Study directory (default: runs/<study name>).",
)
@_run_options
def run(space: str, storage: str | None, **kw) -> None:
    """Run the study of SPACE; what is finished in --storage is skipped."""
    from ncsweep.study import load_space
    from ncsweep.sweep.driver import StudyError, run_study

    with user_errors():
        storage = storage or str(Path("runs") / load_space(space).name)
        try:
            counts = run_study(space, storage, _options(**kw))
        except StudyError as exc:
            raise click.ClickException(str(exc)) from exc
    _exit_with(counts)


@click.command()
@click.argument("storage", type=click.Path(file_okay=False, exists=True))
@_run_options
def resume(storage: str, **kw) -> None:
    """Finish the study in STORAGE (reads STORAGE/study.yaml)."""
    from ncsweep.sweep.driver import StudyError, resume_study

    with user_errors():
        try:
            counts = resume_study(storage, _options(**kw))
        except StudyError as exc:
            raise click.ClickException(str(exc)) from exc
    _exit_with(counts)
