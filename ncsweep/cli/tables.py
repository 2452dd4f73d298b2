"""``ncsweep tables`` and ``ncsweep dashboard`` (heavy imports inside); ``ncsweep figures`` is
in :mod:`ncsweep.cli.figures`."""

from __future__ import annotations

from pathlib import Path

import click

_STUDY_HELP = "STUDY: a storage directory (its mlflow.db and study.yaml) or an experiment name with --tracking-uri."


def _store_options(f):
    f = click.option(
        "--experiment", default=None, help="MLflow experiment (default: the study's name)."
    )(f)
    f = click.option(
        "--tracking-uri",
        default=None,
        help="MLflow store, e.g. http://host:5000 or sqlite:///path.db.",
    )(f)
    return click.argument("study", required=False)(f)


def _resolve(study, tracking_uri, experiment) -> tuple[str, str | None]:
    from ncsweep.tracking import StoreError, resolve_store

    try:
        return resolve_store(study, tracking_uri, experiment)
    except StoreError as exc:
        raise click.UsageError(str(exc)) from exc


def _out_dir(out: str | None, study: str | None, default_name: str) -> Path:
    if out:
        return Path(out)
    if study and Path(study).is_dir():
        return Path(study) / default_name
    raise click.UsageError("--out is required when STUDY is not a storage directory")


def _layout_options(f):
    f = click.option(
        "--cliques",
        type=click.Choice(["holm", "nemenyi"]),
        default="holm",
        show_default=True,
        help="Which test's cliques the CD diagram joins: Holm-corrected Wilcoxon or Nemenyi's CD.",
    )(f)
    f = click.option(
        "--ci",
        type=click.Choice(["t", "bootstrap"]),
        default="t",
        show_default=True,
        help="Per-cell 95 % interval over seeds: Student t or percentile bootstrap.",
    )(f)
    f = click.option(
        "--stats/--no-stats",
        default=True,
        help="Write the statistics (stats.md, stats_*.csv/parquet, critical_difference_*.png).",
    )(f)
    f = click.option("--std/--no-std", default=False, help="Show ± std in the mean tables.")(f)
    return click.option(
        "--layout",
        type=click.Choice(["thesis", "per-metric"]),
        default="thesis",
        show_default=True,
        help="thesis: KNN|SVM and FID|IS side by side; per-metric: one table per metric.",
    )(f)


def _table_options(layout, std, stats, ci, cliques):
    from ncsweep.tables.specs import TableOptions

    return TableOptions(layout=layout, show_std=std, stats=stats, ci=ci, cliques=cliques)


def _run(study, tracking_uri, experiment, out, default_name, tables, figures, log, options=None):
    from ncsweep.tables import make_report
    from ncsweep.tables.build import NoRunsError
    from ncsweep.tracking import StoreError
    from ncsweep.tracking import dashboard as D

    uri, exp = _resolve(study, tracking_uri, experiment)
    out_dir = _out_dir(out, study, default_name)
    if D.is_server(uri) and not D.answers(uri):  # else MLflow retries, then a traceback
        raise click.ClickException(
            f"no MLflow server answers at {uri}: start it, or check --tracking-uri; "
            "nothing was written"
        )
    try:
        report = make_report(
            uri, exp, out_dir, tables=tables, figures=figures, log=log, options=options
        )
    except StoreError as exc:
        raise click.UsageError(str(exc)) from exc
    except NoRunsError as exc:
        raise click.ClickException(
            f"{exc} in {exp or uri}: see `ncsweep status` (a study that has not finished a "
            "trial yet, or the wrong --experiment)"
        ) from exc
    click.echo(f"{report.n_runs} trial runs from {uri}")
    stems = [p.stem for p in report.tables if p.suffix == ".md" and p.stem.startswith("table_")]
    click.echo(f"{len(stems)} tables: {', '.join(stems)}")
    for path in report.tables + report.figures:
        if path.name in ("tables.md", "stats.md") or path.suffix in (".png", ".json"):
            click.echo(f"wrote {path}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.summary:
        click.echo(f"wrote {report.summary} (the study on one page)")
    if report.logged_to:
        click.echo(f"logged to the parent run {report.logged_to}")


@click.command(epilog=_STUDY_HELP)
@_store_options
@click.option("--out", default=None, help="Output folder (default: <STUDY>/tables).")
@click.option(
    "--figures/--no-figures", default=True, help="Also write the figures (into OUT/figures)."
)
@click.option("--log/--no-log", default=True, help="Log the outputs to the study's parent run.")
@_layout_options
def tables(study, tracking_uri, experiment, out, figures, log, **layout) -> None:
    """Rebuild tables 6.1-6.7 and the ζ ablation from MLflow runs (Markdown, LaTeX, CSV, Parquet),
    with confidence intervals, Wilcoxon-Holm tests, mean ranks and CD diagrams beside them."""
    options = _table_options(**layout)
    _run(study, tracking_uri, experiment, out, "tables", True, figures, log, options)


@click.command(epilog=_STUDY_HELP)
@_store_options
@click.option(
    "--port", type=int, default=5000, show_default=True, help="Port on 127.0.0.1 (0 = any free)."
)
@click.option(
    "--timeout",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds to wait for the server.",
)
def dashboard(study, tracking_uri, experiment, port, timeout) -> None:
    """Serve the MLflow UI for a study's store on 127.0.0.1 until Ctrl-C."""
    from ncsweep.tracking import dashboard as D

    uri, exp = _resolve(study, tracking_uri, experiment)
    if D.is_server(uri):  # already a server: its own UI (through an SSH tunnel on a cluster)
        if not D.answers(uri):
            raise click.ClickException(f"no MLflow server answers at {uri}")
        click.echo(f"MLflow UI for {exp or uri}: {uri}  (already served; nothing started)")
        return
    artifacts = Path(study) / "mlartifacts" if study and Path(study).is_dir() else None
    dash = D.start(uri, port or None, artifacts)
    try:
        if not D.wait_ready(dash, timeout):
            raise click.ClickException(
                f"mlflow server did not start on {dash.url} (is the port taken?)"
            )
        click.echo(f"MLflow UI for {exp or uri}: {dash.url}  (Ctrl-C to stop)", nl=True)
        dash.process.wait()
    except KeyboardInterrupt:
        click.echo("stopping the dashboard")
    finally:
        dash.stop()
