"""Measured training speed, for the plan's GPU-hour estimate.

``SECONDS_PER_KSERIES[(stage, length bucket, ssl)]`` = seconds of one epoch over 1000 training
series on one GPU (stage 2 and the evaluator have no SSL: ssl ``-``). ``benchmarks/`` fill it;
a combination not listed is reported as unknown rather than guessed.
"""

from __future__ import annotations

# (stage, bucket, ssl) → s / epoch / 1000 series. Empty entries mean "not measured yet".
SECONDS_PER_KSERIES: dict[tuple[str, str, str], float] = {}


def length_bucket(length: int) -> str:
    if length <= 160:
        return "short"  # ≤160 samples: 4-8 latent frames, cheap STFT
    return "medium" if length <= 512 else "long"


def ssl_kind(stage: str, ssl: str | None) -> str:
    return (ssl or "none") if stage == "stage1" else "-"


def epoch_seconds(stage: str, length: int, n_train: int, ssl: str | None) -> float | None:
    rate = SECONDS_PER_KSERIES.get((stage, length_bucket(length), ssl_kind(stage, ssl)))
    return None if rate is None else rate * n_train / 1000.0


def trial_cost(stage: str, dataset: str, epochs: int, ssl: str | None) -> float:
    """Relative cost of a trial, for scheduling order: measured seconds when known, else a proxy
    (epochs × train series × length; SSL runs a second view, roughly doubling stage 1)."""
    from ncsweep.data import REGISTRY

    info = REGISTRY.get(dataset)
    n_train, length = (info.n_train, info.length) if info else (500, 300)
    seconds = epoch_seconds(stage, length, n_train, ssl)
    if seconds is not None:
        return seconds * epochs
    factor = 2.0 if stage == "stage1" and ssl not in (None, "none") else 1.0
    return factor * epochs * n_train * length * 1e-6
