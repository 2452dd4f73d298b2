"""``ncsweep data``: list, check and download UCR datasets."""

from __future__ import annotations

from pathlib import Path

import click

# Kept in step with ncsweep.data.download.DEFAULT_URL_TEMPLATE (a test checks); written out here so
# that `ncsweep data --help` does not import numpy.
_DEFAULT_URL = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"
_ROOT_HELP = "UCR root folder (default: $NCSWEEP_UCR_ROOT, then the bundled datasets)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Inspect, check and download UCR datasets.

    Datasets are looked for in --root (or $NCSWEEP_UCR_ROOT) and then in the few small datasets
    bundled with ncsweep.
    """


@data.command("list")
@click.option("--root", default=None, help=_ROOT_HELP)
def list_datasets(root: str | None) -> None:
    """The 13 study datasets: shapes, and where each one is found."""
    from ncsweep.cli.common import user_errors
    from ncsweep.data import REGISTRY, find_dataset_dir, resolve_roots

    with user_errors():  # a --root that does not exist
        roots = resolve_roots(root)
    click.echo("Searched, in order: " + ", ".join(str(p) for p in roots))
    click.echo(f"{'dataset':<24}{'train':>7}{'test':>7}{'classes':>9}{'length':>8}  location")
    found = 0
    for name, info in REGISTRY.items():
        where = find_dataset_dir(name, root)
        found += where is not None
        click.echo(
            f"{name:<24}{info.n_train:>7}{info.n_test:>7}{info.n_classes:>9}{info.length:>8}"
            f"  {where if where is not None else 'missing'}"
        )
    click.echo(f"{found}/{len(REGISTRY)} available.")


@data.command("check")
@click.argument("name")
@click.option("--root", default=None, help=_ROOT_HELP)
def check(name: str, root: str | None) -> None:
    """Load NAME strictly and print its shapes and normalisation (exit 1 on any problem)."""
    from ncsweep.data import REGISTRY, DataError, load_ucr

    try:
        ds = load_ucr(name, root)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    in_registry = "matches the registry" if name in REGISTRY else "not in the study registry"
    click.echo(f"{ds.name}: {ds.path}")
    click.echo(f"  train   {ds.x_train.shape}  test {ds.x_test.shape}  ({in_registry})")
    click.echo(f"  classes {ds.n_classes}  labels {list(ds.labels)}")
    click.echo(f"  z-score mean {ds.mean:.6g}  std {ds.std:.6g} (one scalar over the train matrix)")


@data.command("download")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write <Name>/<Name>_{TRAIN,TEST}.tsv into (use it as the root).",
)
@click.option(
    "--url-template",
    default=_DEFAULT_URL,
    show_default=True,
    help="Where each dataset's zip is; {name} is replaced by the dataset name.",
)
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--force", is_flag=True, help="Download again even if DEST already holds it.")
def download(
    names: tuple[str, ...], dest: Path, url_template: str, timeout: float, force: bool
) -> None:
    """Download NAMES as per-dataset zips, convert to the UCR .tsv layout and validate them."""
    from ncsweep.data import DataError, download_dataset

    failed = []
    for name in names:
        try:
            where = download_dataset(name, dest, url_template, timeout=timeout, force=force)
        except DataError as exc:
            click.echo(f"error: {name}: {exc}", err=True)
            failed.append(name)
            continue
        click.echo(f"{name}: ok, {where}")
    if len(failed) < len(names):
        click.echo(f"Use it with --root {dest} or NCSWEEP_UCR_ROOT={dest} (data.root in configs).")
    if failed:
        raise SystemExit(1)
