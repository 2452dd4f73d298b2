"""``ncsweep sync STORAGE``: create or complete the study's MLflow runs from its storage dir.

Heavy imports (MLflow, torch for figures) happen inside the command, so ``--help`` stays instant.
"""

from __future__ import annotations

import click

from ncsweep.cli.common import user_errors


@click.command()
@click.argument("storage", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--tracking-uri",
    default=None,
    help="MLflow store to fill (default: sqlite:///<storage>/mlflow.db); a new file for a "
    "corrupt store.",
)
@click.option(
    "--no-figures", is_flag=True, help="Do not redraw missing figures from the checkpoints."
)
@click.option("--quiet", "-q", is_flag=True, help="Only the summary line.")
def sync(storage: str, tracking_uri: str | None, no_figures: bool, quiet: bool) -> None:
    """Create or complete the MLflow runs of the study in STORAGE: parent and child runs,
    params, tags, metric histories, final metrics, files and figures, run statuses.

    Use it after a tracking outage, against a new store when mlflow.db is corrupt, or to copy a
    study into another store. Idempotent: what the store holds already is not sent again."""
    from ncsweep.tracking.client import CorruptStoreError
    from ncsweep.tracking.sync import SyncError, sync_study

    log = None if quiet else (lambda m: click.echo(m, err=True))
    with user_errors():
        try:
            report = sync_study(storage, tracking_uri, figures=not no_figures, log=log)
        except (SyncError, CorruptStoreError) as exc:
            raise click.ClickException(str(exc)) from exc
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"sync {storage}: {report.line()}")
