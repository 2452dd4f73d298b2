"""Reading the small arrays a trial logs at its end (``arrays/<stage>.npz``: stage-1 latents,
stage-2 generated and real series; see ``ncsweep.sweep.tracking_hook``)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ncsweep.tracking import client as C

ARRAYS_DIR = "arrays"


def run_arrays(
    tracking_uri: str, run_ids: Sequence[str], stage: str
) -> dict[str, dict[str, np.ndarray]]:
    """run id → {name: array} for every run that logged ``arrays/<stage>.npz``; runs without it
    (older studies, a trial whose arrays failed) are left out."""
    client = C.make_client(tracking_uri)
    want = f"{ARRAYS_DIR}/{stage}.npz"
    out: dict[str, dict[str, np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rid in run_ids:
            if want not in {a.path for a in client.list_artifacts(rid, ARRAYS_DIR)}:
                continue
            path = client.download_artifacts(rid, want, str(Path(tmp) / rid))
            with np.load(path, allow_pickle=False) as npz:  # plain arrays only, no pickles
                out[rid] = {k: npz[k] for k in npz.files}
    return out
