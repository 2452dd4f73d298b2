"""``ncsweep figures``: the study's figures from MLflow runs, with ``index.json`` (thesis figure
number → files). Heavy imports stay inside the command."""

from __future__ import annotations

import click

from ncsweep.cli.tables import _STUDY_HELP, _out_dir, _resolve, _store_options


@click.command(epilog=_STUDY_HELP)
@_store_options
@click.option("--out", default=None, help="Output folder (default: <STUDY>/figures).")
@click.option("--log/--no-log", default=True, help="Log the figures to the study's parent run.")
def figures(study, tracking_uri, experiment, out, log) -> None:
    """Rebuild the study's figures (PNG and PDF) from MLflow runs, and OUT/index.json, which maps
    each thesis figure number ("6.7", "6.11", ...) to its files."""
    from ncsweep.tables import make_report
    from ncsweep.tracking import StoreError

    uri, exp = _resolve(study, tracking_uri, experiment)
    out_dir = _out_dir(out, study, "figures")
    try:
        report = make_report(
            uri, exp, out_dir.parent, tables=False, figures=True, log=log, figures_dir=out_dir
        )
    except StoreError as exc:
        raise click.UsageError(str(exc)) from exc
    for path in report.figures:
        if path.suffix in (".png", ".json"):
            click.echo(f"wrote {path}")
    for note in report.notes:
        click.echo(f"note: {note}")
