"""Load one UCR-2018 dataset: checked against the registry, labels encoded, z-scored (spec §0)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ncsweep.data.errors import DataError
from ncsweep.data.registry import REGISTRY
from ncsweep.data.roots import check_name, find_dataset_dir, missing_dataset_error, split_files
from ncsweep.data.tsv import read_ucr_file


@dataclass(frozen=True, eq=False)
class UCRDataset:
    """A dataset ready for training: the official split, z-scored with one scalar mean/std."""

    name: str
    x_train: np.ndarray  # (N_train, L) float32, (raw - mean) / std
    y_train: np.ndarray  # (N_train,) int64 in 0..K-1
    x_test: np.ndarray  # (N_test, L) float32, same mean/std as train
    y_test: np.ndarray  # (N_test,) int64 in 0..K-1
    n_classes: int
    length: int
    mean: float  # of the whole raw train matrix
    std: float  # population std of the whole raw train matrix
    labels: tuple[int, ...]  # labels[k] = the label written in the files for class k (sorted)
    path: Path  # the dataset folder the files were read from

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        return len(self.x_test)


def load_ucr(name: str, root: str | os.PathLike | None = None) -> UCRDataset:
    """Load ``name`` from the first root holding it (see :func:`ncsweep.data.resolve_roots`).

    Raises :class:`DataError` (naming file and line) for a missing dataset or a malformed file.
    """
    directory = find_dataset_dir(name, root)
    if directory is None:
        raise missing_dataset_error(name, root)
    return load_ucr_dir(name, directory)


def load_ucr_dir(name: str, directory: str | os.PathLike) -> UCRDataset:
    """Load ``directory/<name>_{TRAIN,TEST}.tsv[.gz]`` without searching any root."""
    check_name(name)
    directory = Path(directory)
    files = split_files(directory, name)
    if files is None:
        raise DataError(f"no {name}_TRAIN.tsv[.gz] and {name}_TEST.tsv[.gz] here", directory)
    train_path, test_path = files
    raw_y_train, raw_x_train = read_ucr_file(train_path)
    raw_y_test, raw_x_test = read_ucr_file(test_path)
    _check_shapes(name, (train_path, raw_x_train), (test_path, raw_x_test))
    labels = np.unique(np.concatenate([raw_y_train, raw_y_test]))
    _check_classes(name, labels, (train_path, raw_y_train), (test_path, raw_y_test))
    mean, std = _scalar_stats(raw_x_train, train_path)
    return UCRDataset(
        name=name,
        x_train=((raw_x_train - mean) / std).astype(np.float32),
        y_train=np.searchsorted(labels, raw_y_train).astype(np.int64),
        x_test=((raw_x_test - mean) / std).astype(np.float32),
        y_test=np.searchsorted(labels, raw_y_test).astype(np.int64),
        n_classes=len(labels),
        length=raw_x_train.shape[1],
        mean=mean,
        std=std,
        labels=tuple(int(v) for v in labels),
        path=directory,
    )


def _check_shapes(name: str, train: tuple[Path, np.ndarray], test: tuple[Path, np.ndarray]) -> None:
    info = REGISTRY.get(name)
    if info is not None:
        for (path, x), rows in ((train, info.n_train), (test, info.n_test)):
            if len(x) != rows:
                raise DataError(
                    f"{len(x)} series (lines 1-{len(x)}), but {name} has {rows} in the registry "
                    "(expected vs found: wrong or truncated file?)",
                    path,
                    len(x),
                )
            if x.shape[1] != info.length:
                raise DataError(
                    f"series length {x.shape[1]}, but {name} has length {info.length} in the "
                    "registry (expected vs found)",
                    path,
                    1,
                )
    (train_path, x_train), (test_path, x_test) = train, test
    if x_train.shape[1] != x_test.shape[1]:
        raise DataError(
            f"series length {x_test.shape[1]}, but {train_path} line 1 has length "
            f"{x_train.shape[1]} (train and test must have the same length)",
            test_path,
            1,
        )


def _check_classes(name: str, labels: np.ndarray, *splits: tuple[Path, np.ndarray]) -> None:
    info = REGISTRY.get(name)
    expected = info.n_classes if info is not None else None
    if len(labels) >= 2 and expected in (None, len(labels)):
        return
    # Point at the rarest label: when there is one class too many, it is the likely stray one.
    counts = [sum(int((y == v).sum()) for _, y in splits) for v in labels]
    rare = labels[int(np.argmin(counts))]
    path, y = next((p, y) for p, y in splits if (y == rare).any())
    line = int(np.argmax(y == rare)) + 1
    found = ", ".join(str(int(v)) for v in labels)
    want = f"{expected} classes for {name} in the registry" if expected else "at least 2 classes"
    raise DataError(
        f"expected {want}, found {len(labels)} distinct labels ({found}) over train and test; "
        f"the rarest, {int(rare)}, first appears on this line",
        path,
        line,
    )


def _scalar_stats(x_train: np.ndarray, path: Path) -> tuple[float, float]:
    """ONE mean and std over the whole train matrix (spec §0), not per series."""
    mean, std = float(x_train.mean()), float(x_train.std())
    if not std > 0:
        raise DataError("every train value is the same: cannot z-score (std = 0)", path, 1)
    return mean, std
