"""UCR-2018 data: the dataset registry, a strict reader, root resolution and downloads (spec §0)."""

from ncsweep.data.download import download_dataset
from ncsweep.data.errors import DataError
from ncsweep.data.registry import REGISTRY, DatasetInfo
from ncsweep.data.roots import (
    BUNDLED_ROOT,
    ENV_VAR,
    dataset_available,
    find_dataset_dir,
    resolve_roots,
)
from ncsweep.data.ucr import UCRDataset, load_ucr, load_ucr_dir

__all__ = [
    "BUNDLED_ROOT",
    "ENV_VAR",
    "REGISTRY",
    "DataError",
    "DatasetInfo",
    "UCRDataset",
    "dataset_available",
    "download_dataset",
    "find_dataset_dir",
    "load_ucr",
    "load_ucr_dir",
    "resolve_roots",
]
