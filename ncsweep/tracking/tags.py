"""Tag names (docs/ARCHITECTURE.md, "tracking") and the small helpers that fill them."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STUDY = "ncsweep.study"
STAGE = "ncsweep.stage"
DATASET = "ncsweep.dataset"
SSL = "ncsweep.ssl"
AUGMENTATION = "ncsweep.augmentation"
ZETA = "ncsweep.zeta"
SEED = "ncsweep.seed"
TRIAL_KEY = "ncsweep.trial_key"
STAGE1_RUN_ID = "ncsweep.stage1_run_id"
GIT_COMMIT = "mlflow.source.git.commit"  # MLflow's own tag: its UI shows and links it
NODE = "ncsweep.node"  # the Ray node id
HOST = "ncsweep.host"  # the host name of that node
PARENT_RUN_ID = "mlflow.parentRunId"
# Beyond the contract: how the parent run is found, and what the tables need from the plan.
ROLE = "ncsweep.role"
EXPECTED_SEEDS = "ncsweep.expected_seeds"
STORAGE = "ncsweep.storage"
CHECKPOINT = "ncsweep.checkpoint"
TRUNCATED_PARAMS = "ncsweep.truncated_params"

# Label names used by the study's TrialSpec.labels → their tag.
LABEL_TAGS = {
    "dataset": DATASET,
    "ssl": SSL,
    "augmentation": AUGMENTATION,
    "zeta": ZETA,
    "seed": SEED,
    "stage": STAGE,
    "node": NODE,
    "host": HOST,
    "stage1_run_id": STAGE1_RUN_ID,
    "checkpoint": CHECKPOINT,
}

# Flattened stage-1 config keys that carry the same labels (fallback when the caller passes none).
_PARAM_LABELS = {
    "data.dataset": DATASET,
    "ssl.method": SSL,
    "ssl.augmentation": AUGMENTATION,
    "ssl.zeta": ZETA,
    "run.seed": SEED,
}


def tag_name(key: str) -> str:
    """``dataset`` → ``ncsweep.dataset``; already qualified names (``mlflow.*``) pass unchanged."""
    if "." in key:
        return key
    return LABEL_TAGS.get(key, f"ncsweep.{key}")


def tag_value(value: Any) -> str:
    """MLflow stores tags as strings; ``None`` becomes ``none`` (the baseline has no augmentation)."""
    return "none" if value is None else str(value)


def normalize_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {tag_name(k): tag_value(v) for k, v in (tags or {}).items()}


def labels_from_params(flat_params: Mapping[str, Any]) -> dict[str, str]:
    """Labels a stage-1 config already carries; the caller's tags take precedence."""
    out = {
        tag: tag_value(flat_params[key]) for key, tag in _PARAM_LABELS.items() if key in flat_params
    }
    if out.get(SSL) == "none":  # its config refused an augmentation; its ζ weights nothing
        out.pop(ZETA, None)
    return out


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the ncsweep source tree, or None outside a git checkout (never raises)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None
