"""`ncsweep data list|check|download` through click's runner."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.cli.data import _DEFAULT_URL
from ncsweep.data import BUNDLED_ROOT, ENV_VAR, REGISTRY
from ncsweep.data.download import DEFAULT_URL_TEMPLATE


@pytest.fixture(autouse=True)
def _no_env_root(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _run(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def test_list_shows_every_study_dataset_and_where(tmp_path):
    result = _run("list", "--root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert str(tmp_path) in result.output.splitlines()[0]
    rows = {line.split()[0]: line for line in result.output.splitlines()[2:-1]}
    assert set(rows) == set(REGISTRY)
    assert rows["SonyAIBORobotSurface1"].split()[1:5] == ["20", "601", "2", "70"]
    assert str(BUNDLED_ROOT / "SonyAIBORobotSurface1") in rows["SonyAIBORobotSurface1"]
    assert rows["Wafer"].endswith("missing")
    assert result.output.splitlines()[-1] == f"2/{len(REGISTRY)} available."


def test_check_prints_shapes_and_statistics():
    result = _run("check", "SonyAIBORobotSurface2")
    assert result.exit_code == 0, result.output
    assert "(27, 65)" in result.output and "(953, 65)" in result.output
    assert "matches the registry" in result.output and "labels [1, 2]" in result.output


def test_check_fails_with_the_file_and_line(tmp_path):
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.tsv").write_text("1\t0.5\t0.1\n2\t0.5\n")
    (folder / "Toy_TEST.tsv").write_text("1\t0.5\t0.1\n")
    result = _run("check", "Toy", "--root", str(tmp_path))
    assert result.exit_code == 1
    assert "Toy_TRAIN.tsv, line 2: ragged row" in result.output


def test_check_missing_dataset_exits_1(tmp_path):
    result = _run("check", "Wafer", "--root", str(tmp_path))
    assert (
        result.exit_code == 1
        and "not found" in result.output
        and "ncsweep data download" in result.output
    )


def test_download_reads_file_urls(tmp_path):
    # urllib serves file:// URLs too: the CLI path end to end without a server.
    name = "SonyAIBORobotSurface2"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for split in ("TRAIN", "TEST"):
            raw = gzip.decompress((BUNDLED_ROOT / name / f"{name}_{split}.tsv.gz").read_bytes())
            zf.writestr(f"{name}_{split}.tsv", raw)
    (tmp_path / f"{name}.zip").write_bytes(buf.getvalue())
    url = (tmp_path / "{name}.zip").as_uri().replace("%7B", "{").replace("%7D", "}")
    result = _run(
        "download", name, "Symbols", "--dest", str(tmp_path / "ucr"), "--url-template", url
    )
    assert result.exit_code == 1  # Symbols is not served
    assert f"{name}: ok" in result.output and "error: Symbols" in result.output
    assert (tmp_path / "ucr" / name / f"{name}_TRAIN.tsv").is_file()
    assert not (tmp_path / "ucr" / "Symbols").exists()


def test_cli_default_url_matches_the_library():
    assert _DEFAULT_URL == DEFAULT_URL_TEMPLATE
