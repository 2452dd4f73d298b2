"""Where UCR datasets are looked for: an explicit root (``data.root``), else ``$NCSWEEP_UCR_ROOT``,
and always, last, the small datasets bundled with ncsweep."""

from __future__ import annotations

import os
from pathlib import Path

from ncsweep.data.errors import DataError

ENV_VAR = "NCSWEEP_UCR_ROOT"
BUNDLED_ROOT = Path(__file__).resolve().parent / "bundled"
SPLITS = ("TRAIN", "TEST")
# A split may be stored plain or gzipped; the plain file wins when both exist (faster to read).
SUFFIXES = (".tsv", ".tsv.gz")


def _absolute(path: str | os.PathLike) -> Path:
    # abspath, not Path.absolute(): it also folds "a/../b", so messages show clean paths.
    return Path(os.path.abspath(Path(path).expanduser()))


def _labelled_roots(root: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """(folder, where the folder came from), in search order, without duplicates."""
    found: list[tuple[Path, str]] = []
    env = os.environ.get(ENV_VAR, "").strip()
    if root is not None and str(root).strip():
        found.append((_absolute(root), "data.root"))
    elif env:
        found.append((_absolute(env), f"${ENV_VAR}"))
    for path, source in found:
        if not path.is_dir():  # a typo'd root must not fall through to the bundled copies
            instead = "unset it" if source.startswith("$") else f"leave it out (then ${ENV_VAR})"
            raise DataError(
                f"data root {path} ({source}) does not exist or is not a folder: fix the path, "
                f"or {instead} to use the bundled datasets"
            )
    found.append((BUNDLED_ROOT, "bundled with ncsweep"))
    unique: dict[Path, str] = {}
    for path, source in found:
        unique.setdefault(path, source)
    return list(unique.items())


def resolve_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for ``<Name>/<Name>_TRAIN.tsv[.gz]``, first match wins.

    ``root`` (the config key ``data.root``) if given, else ``$NCSWEEP_UCR_ROOT`` if set; then the
    bundled folder, so that the bundled datasets are found whatever the root. A given root that
    is no folder is a :class:`DataError` (issue 14: it was silently replaced by the bundled one).
    """
    return [path for path, _ in _labelled_roots(root)]


def check_name(name: str) -> None:
    """A dataset name is one plain folder name (no path tricks)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or name != name.strip():
        raise DataError(f"invalid dataset name {name!r} (expected a UCR name such as 'ECG5000')")


def split_file(directory: Path, name: str, split: str) -> Path | None:
    """``directory/<name>_<split>.tsv`` or ``.tsv.gz``, whichever exists (plain first)."""
    for suffix in SUFFIXES:
        path = directory / f"{name}_{split}{suffix}"
        if path.is_file():
            return path
    return None


def split_files(directory: Path, name: str) -> tuple[Path, Path] | None:
    """(train file, test file) of a dataset folder, or None when either is missing."""
    train, test = (split_file(directory, name, split) for split in SPLITS)
    return (train, test) if train and test else None


def find_dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first ``<root>/<name>`` holding both splits, or None."""
    check_name(name)
    for base in resolve_roots(root):
        if split_files(base / name, name):
            return base / name
    return None


def dataset_available(name: str, root: str | os.PathLike | None = None) -> bool:
    return find_dataset_dir(name, root) is not None


def missing_dataset_error(name: str, root: str | os.PathLike | None = None) -> DataError:
    """The error for a dataset found nowhere: every place looked, and how to get the archive."""
    lines = [f"UCR dataset {name!r} not found. Looked for:"]
    for base, source in _labelled_roots(root):
        folder = base / name
        present = sorted(p.name for p in folder.glob(f"{name}_*")) if folder.is_dir() else []
        state = f"folder holds only {', '.join(present)}" if present else "not there"
        lines.append(f"  - {folder}/{name}_{{TRAIN,TEST}}.tsv[.gz]  ({source}; {state})")
        nested = base / "UCRArchive_2018" / name
        if nested.is_dir():
            lines.append(f"    (found {nested}: point the root at {base / 'UCRArchive_2018'})")
    bundled = sorted(p.name for p in BUNDLED_ROOT.iterdir() if p.is_dir())
    lines += [
        f"Bundled datasets: {', '.join(bundled)}.",
        "To get the UCR archive: set NCSWEEP_UCR_ROOT (or data.root in the config) to an unpacked "
        "UCRArchive_2018 folder (one subfolder per dataset, from timeseriesclassification.com or "
        f"the UCR page), or run `ncsweep data download {name} --dest DIR` and use DIR as the root.",
    ]
    return DataError("\n".join(lines))
