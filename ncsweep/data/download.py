"""Fetch one UCR dataset as a per-dataset zip and store it in the UCR-2018 ``.tsv`` layout.

Everything is staged in a temporary folder inside ``dest``, validated with the same strict reader
as training uses, and only then renamed into ``dest/<Name>/`` (same file system, so each rename is
atomic): a failed or partial download never leaves a file that looks like a dataset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from ncsweep.data.errors import DataError
from ncsweep.data.roots import SPLITS, check_name, split_files
from ncsweep.data.ucr import load_ucr_dir

DEFAULT_URL_TEMPLATE = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"


class DownloadError(DataError):
    """The download failed or the archive does not hold a usable dataset; names the URL."""


def download_dataset(
    name: str,
    dest: str | os.PathLike,
    url_template: str = DEFAULT_URL_TEMPLATE,
    timeout: float = 60.0,
    force: bool = False,
) -> Path:
    """Download ``name`` into ``dest/<name>/<name>_{TRAIN,TEST}.tsv``; return that folder.

    A dataset already in ``dest`` is validated and kept unless ``force``.
    """
    check_name(name)
    dest = Path(os.path.abspath(Path(dest).expanduser()))
    target = dest / name
    if not force and split_files(target, name):
        load_ucr_dir(name, target)
        return target
    url = _url(url_template, name)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{name}.partial-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        _fetch(url, archive, timeout)
        staged = Path(tmp) / name
        staged.mkdir()
        sources = _extract_splits(archive, name, staged, url)
        try:
            load_ucr_dir(name, staged)
        except DataError as exc:
            raise DownloadError(
                f"{url}: {', '.join(sources)} is not a valid UCR dataset: {exc}"
            ) from exc
        _publish(staged, target, name)
    return target


def _url(template: str, name: str) -> str:
    if "{name}" not in template:
        raise DownloadError(f"the URL template {template!r} has no {{name}} placeholder")
    try:
        return template.format(name=name)
    except (KeyError, IndexError, ValueError) as exc:
        raise DownloadError(f"bad URL template {template!r}: {exc}") from exc


def _fetch(url: str, out: Path, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "ncsweep"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, out.open("wb") as f:
            shutil.copyfileobj(response, f, length=1 << 20)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"download failed: HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"download failed: cannot reach {url}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # timeouts, resets, an unknown URL scheme
        raise DownloadError(f"download failed for {url}: {exc}") from exc


def _extract_splits(archive: Path, name: str, staged: Path, url: str) -> list[str]:
    """Write ``staged/<name>_<SPLIT>.tsv`` from the zip's .tsv (as is), .txt or .ts files."""
    try:
        with zipfile.ZipFile(archive) as zf:
            # Only base names are used, so member paths cannot write outside ``staged``.
            members = {PurePosixPath(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
            sources = [_extract_one(zf, members, name, split, staged, url) for split in SPLITS]
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{url} did not return a zip file ({exc})") from exc
    return sources


def _extract_one(zf, members, name: str, split: str, staged: Path, url: str) -> str:
    for ext, convert in ((".tsv", None), (".txt", _txt_to_tsv), (".ts", _ts_to_tsv)):
        member = members.get(f"{name}_{split}{ext}")
        if member is None:
            continue
        data = zf.read(member)
        if convert is not None:
            try:
                data = convert(data, f"{url}!{member.filename}")
            except UnicodeDecodeError as exc:
                raise DownloadError(f"{url}!{member.filename}: not a text file ({exc})") from exc
        (staged / f"{name}_{split}.tsv").write_bytes(data)
        return member.filename
    held = ", ".join(sorted(members)) or "nothing"
    raise DownloadError(f"{url}: the zip has no {name}_{split}.tsv, .txt or .ts (it holds {held})")


def _txt_to_tsv(data: bytes, source: str) -> bytes:
    """Old UCR ``.txt``: label and values separated by whitespace (or commas). Tokens are kept
    byte for byte; one output line per input line, so the reader's line numbers still hold."""
    out = []
    for line in data.decode("utf-8", errors="strict").rstrip().split("\n"):
        line = line.strip()
        cells = [c.strip() for c in line.split(",")] if "," in line else line.split()
        out.append("\t".join(cells))
    return ("\n".join(out) + "\n").encode()


def _ts_to_tsv(data: bytes, source: str) -> bytes:
    """sktime/aeon ``.ts`` (univariate, equal length): ``v1,v2,...:label`` lines after ``@data``."""
    out, in_data = [], False
    for i, raw in enumerate(data.decode("utf-8", errors="strict").split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        parts = line.split(":")
        if len(parts) != 2:
            raise DownloadError(f"{source} line {i}: expected 'values:label' (one dimension)")
        values, label = parts
        out.append("\t".join([label.strip(), *(v.strip() for v in values.split(","))]))
    if not out:
        raise DownloadError(f"{source}: no series after an @data line")
    return ("\n".join(out) + "\n").encode()


def _publish(staged: Path, target: Path, name: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        os.replace(staged / f"{name}_{split}.tsv", target / f"{name}_{split}.tsv")
