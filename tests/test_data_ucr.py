"""The UCR reader on the real bundled files, on the shared archive copy, and on broken files."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from ncsweep.data import (
    BUNDLED_ROOT,
    ENV_VAR,
    REGISTRY,
    DataError,
    dataset_available,
    find_dataset_dir,
    load_ucr,
    resolve_roots,
)

SHARED_UCR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ucr"
needs_shared = pytest.mark.skipif(
    not SHARED_UCR.is_dir(), reason=f"no archive copy at {SHARED_UCR}"
)


@pytest.fixture(autouse=True)
def _no_env_root(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _raw(name: str, split: str, root: Path = BUNDLED_ROOT) -> np.ndarray:
    """(N, 1+L) table read independently of ncsweep (gzip + np.loadtxt)."""
    with gzip.open(root / name / f"{name}_{split}.tsv.gz", "rt") as f:
        return np.loadtxt(f, delimiter="\t", ndmin=2)


def _write(root: Path, name: str, train: str, test: str, gz: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, text in (("TRAIN", train), ("TEST", test)):
        path = folder / f"{name}_{split}.tsv{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return folder


def _rows(labels, length: int = 4, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "".join(
        "\t".join([str(lab), *(f"{v:.6f}" for v in rng.normal(size=length))]) + "\n"
        for lab in labels
    )


GOOD_TRAIN = _rows([1, 2, 1, 2, 1])
GOOD_TEST = _rows([2, 1, 2], seed=1)


# --- the real bundled data -------------------------------------------------------------------


def test_bundled_files_match_their_manifest():
    manifest = (BUNDLED_ROOT / "MANIFEST.md").read_text()
    rows = re.findall(
        r"\| `([^`]+\.tsv\.gz)` \| (\d+) \| `([0-9a-f]{64})` \| `([0-9a-f]{64})` \|", manifest
    )
    assert len(rows) == 6
    for rel, size, gz_sha, raw_sha in rows:
        data = (BUNDLED_ROOT / rel).read_bytes()
        assert len(data) == int(size)
        assert hashlib.sha256(data).hexdigest() == gz_sha
        assert hashlib.sha256(gzip.decompress(data)).hexdigest() == raw_sha
    total = sum(p.stat().st_size for p in BUNDLED_ROOT.rglob("*") if p.is_file())
    assert total < 1_000_000


@pytest.mark.parametrize("name", ["SonyAIBORobotSurface1", "SonyAIBORobotSurface2"])
def test_bundled_study_datasets_have_registry_shapes(name):
    ds = load_ucr(name)
    info = REGISTRY[name]
    assert ds.path == BUNDLED_ROOT / name
    assert ds.x_train.shape == (info.n_train, info.length) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (info.n_test, info.length) and ds.x_test.dtype == np.float32
    assert ds.y_train.shape == (info.n_train,) and ds.y_train.dtype == np.int64
    assert ds.y_test.shape == (info.n_test,) and ds.y_test.dtype == np.int64
    assert (ds.n_classes, ds.length) == (info.n_classes, info.length)
    assert set(np.unique(ds.y_train)) == set(range(info.n_classes))


def test_one_scalar_normalisation_from_the_train_matrix():
    ds = load_ucr("SonyAIBORobotSurface1")
    raw_train, raw_test = _raw(ds.name, "TRAIN")[:, 1:], _raw(ds.name, "TEST")[:, 1:]
    assert ds.mean == pytest.approx(raw_train.mean()) and ds.std == pytest.approx(raw_train.std())
    assert abs(float(ds.x_train.mean())) < 1e-5 and float(ds.x_train.std()) == pytest.approx(
        1, abs=1e-5
    )
    # Test uses the train statistics, and both invert exactly to the file's numbers.
    np.testing.assert_allclose(ds.x_train * ds.std + ds.mean, raw_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ds.x_test * ds.std + ds.mean, raw_test, rtol=1e-5, atol=1e-5)


def test_normalisation_is_not_per_series(tmp_path):
    # UCR series are already z-normalised one by one, so this needs series with their own offsets.
    _write(tmp_path, "Toy", "1\t0\t1\t2\t3\n2\t10\t20\t30\t40\n", "1\t5\t5\t5\t5\n")
    ds = load_ucr("Toy", tmp_path)
    raw = np.array([[0, 1, 2, 3], [10, 20, 30, 40]], dtype=np.float64)
    assert ds.mean == pytest.approx(raw.mean()) and ds.std == pytest.approx(raw.std())
    np.testing.assert_allclose(ds.x_train, (raw - raw.mean()) / raw.std(), rtol=1e-6)
    np.testing.assert_allclose(ds.x_test, (5 - raw.mean()) / raw.std() * np.ones((1, 4)), rtol=1e-6)
    assert ds.x_train[0].mean() < -0.5 < 0.5 < ds.x_train[1].mean()


def test_negative_labels_are_encoded_in_sorted_order():
    ds = load_ucr("ECG200")
    assert ds.labels == (-1, 1) and ds.n_classes == 2
    np.testing.assert_array_equal(ds.y_train, (_raw("ECG200", "TRAIN")[:, 0] == 1).astype(np.int64))
    np.testing.assert_array_equal(ds.y_test, (_raw("ECG200", "TEST")[:, 0] == 1).astype(np.int64))


def test_labels_are_encoded_over_train_and_test(tmp_path):
    train = _rows(["2.0000000e+00", "-1", "2", "-1"])
    test = _rows(["5", "-1.0", "2"], seed=3)
    _write(tmp_path, "Toy", train, test)
    ds = load_ucr("Toy", tmp_path)
    assert ds.labels == (-1, 2, 5) and ds.n_classes == 3
    assert ds.y_train.tolist() == [1, 0, 1, 0] and ds.y_test.tolist() == [2, 0, 1]


def test_dataset_pickles_for_worker_processes():
    ds = load_ucr("SonyAIBORobotSurface2")
    back = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(back.x_test, ds.x_test)
    assert back.labels == ds.labels and back.path == ds.path


@needs_shared
def test_study_dataset_from_the_shared_archive():
    ds = load_ucr("ECG5000", SHARED_UCR)
    assert ds.path == SHARED_UCR / "ECG5000"
    assert (len(ds.x_train), len(ds.x_test), ds.n_classes, ds.length) == (500, 4500, 5, 140)
    assert ds.labels == (1, 2, 3, 4, 5)


@needs_shared
def test_largest_study_dataset_loads(tmp_path):
    ds = load_ucr("ElectricDevices", SHARED_UCR)
    assert ds.x_train.shape == (8926, 96) and ds.x_test.shape == (7711, 96) and ds.n_classes == 7


# --- formats and roots -----------------------------------------------------------------------


def test_tsv_and_gz_read_the_same(tmp_path):
    plain = load_ucr("Toy", _write(tmp_path / "a", "Toy", GOOD_TRAIN, GOOD_TEST).parent)
    zipped = load_ucr("Toy", _write(tmp_path / "b", "Toy", GOOD_TRAIN, GOOD_TEST, gz=True).parent)
    np.testing.assert_array_equal(plain.x_train, zipped.x_train)
    np.testing.assert_array_equal(plain.y_test, zipped.y_test)
    assert plain.x_train.shape == (5, 4) and plain.labels == (1, 2)


def test_plain_tsv_is_preferred_when_both_exist(tmp_path):
    _write(tmp_path, "Toy", GOOD_TRAIN, GOOD_TEST, gz=True)
    _write(tmp_path, "Toy", _rows([1, 2, 1, 2, 1, 2, 1]), GOOD_TEST)
    assert load_ucr("Toy", tmp_path).x_train.shape == (7, 4)


def test_crlf_line_ends_are_read(tmp_path):
    _write(tmp_path, "Toy", GOOD_TRAIN.replace("\n", "\r\n"), GOOD_TEST)
    assert load_ucr("Toy", tmp_path).x_train.shape == (5, 4)


def test_roots_default_to_bundled():
    assert resolve_roots() == [BUNDLED_ROOT]
    assert find_dataset_dir("SonyAIBORobotSurface1") == BUNDLED_ROOT / "SonyAIBORobotSurface1"


def test_env_root_comes_before_bundled(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resolve_roots() == [tmp_path, BUNDLED_ROOT]
    # A copy under the env root shadows the bundled one ...
    _write(tmp_path, "SonyAIBORobotSurface1", _raw_text("TRAIN"), _raw_text("TEST"))
    assert load_ucr("SonyAIBORobotSurface1").path == tmp_path / "SonyAIBORobotSurface1"
    # ... and bundled datasets are still found through the fallback.
    assert load_ucr("SonyAIBORobotSurface2").path == BUNDLED_ROOT / "SonyAIBORobotSurface2"


def test_explicit_root_beats_env(tmp_path, monkeypatch):
    env_root, cfg_root = tmp_path / "env", tmp_path / "cfg"
    _write(env_root, "Toy", GOOD_TRAIN, GOOD_TEST)
    _write(cfg_root, "Toy", _rows([1, 2, 1, 2, 1, 2]), GOOD_TEST)
    monkeypatch.setenv(ENV_VAR, str(env_root))
    assert resolve_roots(str(cfg_root)) == [cfg_root, BUNDLED_ROOT]
    assert load_ucr("Toy", cfg_root).x_train.shape == (6, 4)
    assert load_ucr("Toy").x_train.shape == (5, 4)
    assert dataset_available("SonyAIBORobotSurface1", cfg_root)
    assert not dataset_available("Wafer", cfg_root)


def _raw_text(split: str) -> str:
    name = "SonyAIBORobotSurface1"
    return gzip.decompress((BUNDLED_ROOT / name / f"{name}_{split}.tsv.gz").read_bytes()).decode()


def test_missing_dataset_lists_every_place_and_how_to_get_it(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()  # a root that does not exist is its own error (issue 14 §4)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    with pytest.raises(DataError) as err:
        load_ucr("Wafer")
    msg = str(err.value)
    assert str(tmp_path / "env" / "Wafer" / "Wafer_") in msg and "$NCSWEEP_UCR_ROOT" in msg
    assert str(BUNDLED_ROOT / "Wafer") in msg
    assert "UCRArchive_2018" in msg and "data.root" in msg and "ncsweep data download Wafer" in msg


def test_half_present_dataset_says_what_is_there(tmp_path):
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.tsv").write_text(GOOD_TRAIN)
    with pytest.raises(DataError, match="holds only Toy_TRAIN.tsv"):
        load_ucr("Toy", tmp_path)


@pytest.mark.parametrize("name", ["", "..", "a/b", " Toy"])
def test_path_like_names_are_rejected(name):
    with pytest.raises(DataError, match="invalid dataset name"):
        load_ucr(name)


# --- every bad input names its file and line -------------------------------------------------


def _error(tmp_path: Path, name: str, train: str, test: str = GOOD_TEST, gz: bool = False) -> str:
    _write(tmp_path, name, train, test, gz=gz)
    with pytest.raises(DataError) as err:
        load_ucr(name, tmp_path)
    return str(err.value)


def _replace_line(text: str, index: int, new: str) -> str:
    lines = text.splitlines()
    lines[index] = new
    return "\n".join(lines) + "\n"


BAD_TRAIN = {
    "ragged": (_replace_line(GOOD_TRAIN, 2, "1\t0.1\t0.2\t0.3"), 3, "ragged row: 3 values"),
    "nan": (_replace_line(GOOD_TRAIN, 1, "2\t0.1\tNaN\t0.3\t0.4"), 2, "column 3: value 'NaN'"),
    "inf": (_replace_line(GOOD_TRAIN, 1, "2\t0.1\tinf\t0.3\t0.4"), 2, "not a finite number"),
    "empty_cell": (_replace_line(GOOD_TRAIN, 3, "2\t0.1\t\t0.3\t0.4"), 4, "column 3: empty cell"),
    "text_cell": (
        _replace_line(GOOD_TRAIN, 1, "2\t0.1\tabc\t0.3\t0.4"),
        2,
        "non-numeric value 'abc'",
    ),
    "underscore": (
        _replace_line(GOOD_TRAIN, 4, "1\t1_0\t0.2\t0.3\t0.4"),
        5,
        "non-numeric value '1_0'",
    ),
    "blank_line": (_replace_line(GOOD_TRAIN, 2, ""), 3, "empty"),
    "fraction_label": (
        _replace_line(GOOD_TRAIN, 2, "1.5\t0.1\t0.2\t0.3\t0.4"),
        3,
        "label '1.5' is not a class",
    ),
    "text_label": (
        _replace_line(GOOD_TRAIN, 0, "a\t0.1\t0.2\t0.3\t0.4"),
        1,
        "non-numeric value 'a'",
    ),
    "nan_label": (_replace_line(GOOD_TRAIN, 1, "nan\t0.1\t0.2\t0.3\t0.4"), 2, "label 'nan'"),
    "label_only": ("1\n2\n", 1, "no tab-separated values"),
    "empty_file": ("", 1, "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN))
@pytest.mark.parametrize("gz", [False, True])
def test_bad_cells_name_file_and_line(tmp_path, case, gz):
    train, line, what = BAD_TRAIN[case]
    msg = _error(tmp_path, "Toy", train, gz=gz)
    assert f"Toy_TRAIN.tsv{'.gz' if gz else ''}, line {line}:" in msg
    assert what in msg


def test_bad_test_file_is_named(tmp_path):
    msg = _error(tmp_path, "Toy", GOOD_TRAIN, _replace_line(GOOD_TEST, 2, "1\t0.1\t?\t0.3\t0.4"))
    assert "Toy_TEST.tsv, line 3: column 3: non-numeric value '?'" in msg


def test_corrupt_gzip_is_named(tmp_path):
    _write(tmp_path, "Toy", GOOD_TRAIN, GOOD_TEST)
    (tmp_path / "Toy" / "Toy_TRAIN.tsv").unlink()
    (tmp_path / "Toy" / "Toy_TRAIN.tsv.gz").write_bytes(gzip.compress(GOOD_TRAIN.encode())[:30])
    with pytest.raises(DataError, match=r"Toy_TRAIN\.tsv\.gz: cannot read"):
        load_ucr("Toy", tmp_path)


def test_train_test_length_mismatch(tmp_path):
    msg = _error(tmp_path, "Toy", GOOD_TRAIN, _rows([1, 2], length=5))
    assert (
        "Toy_TEST.tsv, line 1: series length 5" in msg
        and "Toy_TRAIN.tsv line 1 has length 4" in msg
    )


def test_registry_row_count_mismatch(tmp_path):
    train = "".join(_raw_text("TRAIN").splitlines(keepends=True)[:19])
    msg = _error(tmp_path, "SonyAIBORobotSurface1", train, _raw_text("TEST"))
    assert (
        "SonyAIBORobotSurface1_TRAIN.tsv, line 19: 19 series" in msg
        and "has 20 in the registry" in msg
    )


def test_registry_length_mismatch(tmp_path):
    def cut(text: str) -> str:  # drop the last value of every series
        return "".join(line.rsplit("\t", 1)[0] + "\n" for line in text.splitlines())

    msg = _error(tmp_path, "SonyAIBORobotSurface1", cut(_raw_text("TRAIN")), cut(_raw_text("TEST")))
    assert "SonyAIBORobotSurface1_TRAIN.tsv, line 1: series length 69" in msg and "length 70" in msg


def test_registry_class_count_mismatch(tmp_path):
    test = _replace_line(_raw_text("TEST"), 6, "3" + _raw_text("TEST").splitlines()[6][1:])
    msg = _error(tmp_path, "SonyAIBORobotSurface1", _raw_text("TRAIN"), test)
    assert "SonyAIBORobotSurface1_TEST.tsv, line 7:" in msg
    assert "expected 2 classes" in msg and "found 3 distinct labels (1, 2, 3)" in msg


def test_a_single_class_is_not_a_classification_dataset(tmp_path):
    msg = _error(tmp_path, "Toy", _rows([4, 4, 4]), _rows([4], seed=2))
    assert "Toy_TRAIN.tsv, line 1:" in msg and "at least 2 classes" in msg


def test_constant_train_cannot_be_z_scored(tmp_path):
    msg = _error(tmp_path, "Toy", "1\t0\t0\n2\t0\t0\n", "1\t0\t1\n")
    assert "Toy_TRAIN.tsv, line 1:" in msg and "std = 0" in msg


def test_a_given_root_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"data root .*nope \(data.root\) does not exist"):
        load_ucr("SonyAIBORobotSurface1", tmp_path / "nope")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(DataError, match=r"\$NCSWEEP_UCR_ROOT\) does not exist.*unset it"):
        load_ucr("SonyAIBORobotSurface1")
