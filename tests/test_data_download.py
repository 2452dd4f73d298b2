"""`download_dataset` against a real HTTP server on 127.0.0.1 serving zips built from bundled data."""

from __future__ import annotations

import functools
import gzip
import io
import socket
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from ncsweep.data import BUNDLED_ROOT, ENV_VAR, DataError, download_dataset, load_ucr
from ncsweep.data.download import DownloadError

NAME = "SonyAIBORobotSurface1"


def _tsv(split: str) -> str:
    return gzip.decompress((BUNDLED_ROOT / NAME / f"{NAME}_{split}.tsv.gz").read_bytes()).decode()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(folder served, URL template) of a local HTTP server; stopped after the test."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/{{name}}.zip"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _zip(served: Path, members: dict[str, str | bytes], name: str = NAME) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, text in members.items():
            zf.writestr(member, text)
    (served / f"{name}.zip").write_bytes(buf.getvalue())


def _assert_same_as_bundled(folder: Path) -> None:
    got, ref = load_ucr(NAME, folder.parent), load_ucr(NAME)
    assert got.path == folder
    np.testing.assert_array_equal(got.x_train, ref.x_train)
    np.testing.assert_array_equal(got.y_test, ref.y_test)
    assert got.labels == ref.labels


def _assert_nothing_left(dest: Path) -> None:
    assert not dest.exists() or sorted(p.name for p in dest.iterdir()) == []


def test_tsv_zip_is_stored_byte_exact(server, tmp_path):
    served, url = server
    _zip(
        served, {f"{NAME}/{NAME}_TRAIN.tsv": _tsv("TRAIN"), f"{NAME}/{NAME}_TEST.tsv": _tsv("TEST")}
    )
    folder = download_dataset(NAME, tmp_path / "dest", url)
    assert folder == tmp_path / "dest" / NAME
    assert (folder / f"{NAME}_TRAIN.tsv").read_text() == _tsv("TRAIN")
    assert (folder / f"{NAME}_TEST.tsv").read_text() == _tsv("TEST")
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == [NAME]  # no temp leftovers
    _assert_same_as_bundled(folder)


def test_whitespace_txt_is_converted(server, tmp_path):
    served, url = server

    def to_txt(text: str) -> str:
        return "".join("  " + "   ".join(ln.split("\t")) + "\n" for ln in text.splitlines())

    _zip(
        served,
        {f"{NAME}_TRAIN.txt": to_txt(_tsv("TRAIN")), f"{NAME}_TEST.txt": to_txt(_tsv("TEST"))},
    )
    folder = download_dataset(NAME, tmp_path / "dest", url)
    assert (folder / f"{NAME}_TRAIN.tsv").read_text() == _tsv("TRAIN")
    _assert_same_as_bundled(folder)


def test_ts_format_is_converted(server, tmp_path):
    served, url = server

    def to_ts(text: str) -> str:
        head = f"# made in a test\n@problemName {NAME}\n@univariate true\n@classLabel true 1 2\n@data\n"
        rows = (ln.split("\t") for ln in text.splitlines())
        return head + "".join(",".join(r[1:]) + ":" + str(int(float(r[0]))) + "\n" for r in rows)

    _zip(served, {f"{NAME}_TRAIN.ts": to_ts(_tsv("TRAIN")), f"{NAME}_TEST.ts": to_ts(_tsv("TEST"))})
    _assert_same_as_bundled(download_dataset(NAME, tmp_path / "dest", url))


def test_http_error_names_the_url(server, tmp_path):
    _, url = server
    with pytest.raises(DownloadError) as err:
        download_dataset(NAME, tmp_path / "dest", url)
    assert "HTTP 404" in str(err.value) and url.format(name=NAME) in str(err.value)
    _assert_nothing_left(tmp_path / "dest")


def test_unreachable_server_names_the_url(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{{name}}.zip"
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port}/{NAME}.zip"):
        download_dataset(NAME, tmp_path / "dest", url, timeout=5)


def test_not_a_zip(server, tmp_path):
    served, url = server
    (served / f"{NAME}.zip").write_text("<html>maintenance</html>")
    with pytest.raises(DownloadError, match="did not return a zip file"):
        download_dataset(NAME, tmp_path / "dest", url)
    _assert_nothing_left(tmp_path / "dest")


def test_zip_without_test_split_says_what_it_holds(server, tmp_path):
    served, url = server
    _zip(served, {f"{NAME}_TRAIN.tsv": _tsv("TRAIN"), "README.md": "hi"})
    with pytest.raises(
        DownloadError, match=rf"no {NAME}_TEST.tsv, .txt or .ts \(it holds README.md, "
    ):
        download_dataset(NAME, tmp_path / "dest", url)
    _assert_nothing_left(tmp_path / "dest")


def test_invalid_content_is_rejected_before_anything_is_written(server, tmp_path):
    served, url = server
    lines = _tsv("TEST").splitlines(keepends=True)
    lines[4] = lines[4].replace("\t", "\tNaN\t", 1)
    _zip(served, {f"{NAME}_TRAIN.tsv": _tsv("TRAIN"), f"{NAME}_TEST.tsv": "".join(lines)})
    with pytest.raises(DownloadError) as err:
        download_dataset(NAME, tmp_path / "dest", url)
    assert f"{NAME}_TEST.tsv, line 5:" in str(err.value) and url.format(name=NAME) in str(err.value)
    _assert_nothing_left(tmp_path / "dest")


def test_existing_dataset_is_validated_not_fetched(server, tmp_path):
    served, url = server  # serves nothing: a request would fail with HTTP 404
    folder = tmp_path / "dest" / NAME
    folder.mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        (folder / f"{NAME}_{split}.tsv").write_text(_tsv(split))
    assert download_dataset(NAME, tmp_path / "dest", url) == folder
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_dataset(NAME, tmp_path / "dest", url, force=True)
    _assert_same_as_bundled(folder)  # a failed forced download leaves the old copy intact


@pytest.mark.parametrize(
    "template", ["http://127.0.0.1/data.zip", "http://127.0.0.1/{name}/{x}.zip"]
)
def test_bad_url_template(template, tmp_path):
    with pytest.raises(DataError, match="template"):
        download_dataset(NAME, tmp_path, template)
