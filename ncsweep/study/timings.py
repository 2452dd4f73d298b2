"""Measured training speed, for the plan's GPU-hour estimate and the searcher's scheduling order.

A timings file (JSON) is written by ``benchmarks/stage1_throughput.py --write-timings F`` and
``benchmarks/stage2_throughput.py --write-timings F`` on one device type::

    {"device": "NVIDIA H200", "measured": "2025-01-31",
     "entries": [{"stage": "stage1", "length": 128, "ssl": "vibcreg", "batch_size": 128,
                  "seconds_per_epoch_per_kseries": 0.9},
                 {"stage": "stage2", "length": 70, "ssl": "-", "batch_size": 256,
                  "seconds_per_epoch_per_kseries": 0.05, "sample_seconds_per_kseries": 3.1},
                 {"stage": "evaluator", "length": 70, "ssl": "-", "batch_size": 256,
                  "seconds_per_epoch_per_kseries": 0.2}]}

``seconds_per_epoch_per_kseries`` = seconds of one training epoch over 1000 series. Stage 2 and
the evaluator have no SSL (``ssl: "-"``). A stage-2 entry may carry
``sample_seconds_per_kseries``: seconds to generate 1000 series (iterative decoding + stage-1
decoder) and take the evaluator's features of them and of 1000 real series; with the evaluator
rate (the CAS classifier is an FCN of the same recipe) it prices the generative evaluation that
ends every stage-2 trial (see ``ncsweep.study.plan``).
A rate for length L interpolates linearly between the two nearest measured lengths of the same
(stage, ssl); beyond the measured range it scales proportionally to L from the nearest one.
A (stage, ssl) with no entry is unknown, never guessed.

A file may also (or instead) hold a ``trials`` list: what each part of a whole trial costs per
study dataset, written by ``benchmarks/trial_cost.py`` (format: ``ncsweep.study.cost``). The plan
prices a dataset's trials from it where present, evaluation included, and falls back to the
per-kseries ``entries`` elsewhere.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncsweep.config import ConfigError
from ncsweep.stages import STAGES
from ncsweep.study.cost import Part, parse_part

STAGE_SSL = {s.name: s.timing_kinds for s in STAGES.values()}
RATE = "seconds_per_epoch_per_kseries"
SAMPLE_RATE = "sample_seconds_per_kseries"


class TimingsError(ConfigError):
    """A timings file is missing, unreadable or malformed; the message names file and entry."""

    def __init__(self, problems: list[str] | str, source: str | None = None):
        super().__init__(problems, source)
        body = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (f"invalid timings file {source}:\n{body}",)

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Entry:
    stage: str
    length: int
    ssl: str
    batch_size: int
    seconds_per_epoch_per_kseries: float
    sample_seconds_per_kseries: float | None = None

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.stage, self.ssl, self.length, self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "stage": self.stage,
            "length": self.length,
            "ssl": self.ssl,
            "batch_size": self.batch_size,
            RATE: self.seconds_per_epoch_per_kseries,
        }
        if self.sample_seconds_per_kseries is not None:
            out[SAMPLE_RATE] = self.sample_seconds_per_kseries
        return out


@dataclass(frozen=True)
class Timings:
    device: str
    measured: str
    entries: tuple[Entry, ...]
    source: str = ""
    parts: tuple[Part, ...] = ()  # whole-trial parts per dataset (ncsweep.study.cost)

    def rate(
        self, stage: str, ssl: str, length: int, batch_size: int | None = None
    ) -> float | None:
        """Seconds / epoch / 1000 series at ``length``; ``None`` if (stage, ssl) is unmeasured."""
        pts = _points(self.entries, stage, ssl, batch_size, RATE)
        return interpolate(pts, length) if pts else None

    def sample_rate(self, length: int) -> float | None:
        """Seconds to generate + featurise 1000 series at ``length`` (stage-2 entries)."""
        pts = _points(self.entries, "stage2", "-", None, SAMPLE_RATE)
        return interpolate(pts, length) if pts else None

    def to_dict(self) -> dict[str, Any]:
        entries = sorted(self.entries, key=lambda e: e.key)
        out = {
            "device": self.device,
            "measured": self.measured,
            "entries": [e.to_dict() for e in entries],
        }
        if self.parts:
            out["trials"] = [p.to_dict() for p in sorted(self.parts, key=lambda p: p.key)]
        return out


def _points(entries, stage, ssl, batch_size, field) -> list[tuple[int, float]]:
    """(length, value) of one (stage, ssl); the trial's batch size when measured, else the
    measured batch size nearest to it (per-series cost depends on batch size only mildly)."""
    rows = [e for e in entries if (e.stage, e.ssl) == (stage, ssl)]
    rows = [e for e in rows if field == RATE or e.sample_seconds_per_kseries is not None]
    if rows and batch_size is not None:
        best = min({e.batch_size for e in rows}, key=lambda b: (abs(b - batch_size), -b))
        rows = [e for e in rows if e.batch_size == best]
    by_length: dict[int, list[float]] = {}
    for e in rows:
        by_length.setdefault(e.length, []).append(e.to_dict()[field])
    return sorted((n, sum(v) / len(v)) for n, v in by_length.items())


def interpolate(points: list[tuple[int, float]], length: int) -> float:
    """Linear between measured lengths; proportional to ``length`` outside them."""
    (l0, v0), (l1, v1) = points[0], points[-1]
    if length <= l0:
        return v0 * length / l0
    if length >= l1:
        return v1 * length / l1
    for (a, va), (b, vb) in zip(points, points[1:], strict=False):
        if a <= length <= b:
            return va + (vb - va) * (length - a) / (b - a)
    raise AssertionError("unreachable: length inside the measured range")


def _positive(raw: dict, name: str, kind: type, where: str, problems: list[str]) -> Any:
    value = raw.get(name)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0 or (kind is int and value != int(value)):
        problems.append(f"{where}: {name} must be a positive {kind.__name__}, got {value!r}")
        return None
    return kind(value)


def _entry(raw: Any, where: str, problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object, got {type(raw).__name__}")
        return None
    known = {"stage", "length", "ssl", "batch_size", RATE, SAMPLE_RATE}
    problems += [f"{where}: unknown key {k!r}" for k in sorted(set(raw) - known)]
    stage, ssl = raw.get("stage"), raw.get("ssl")
    n = len(problems)
    if stage not in STAGE_SSL:
        problems.append(f"{where}: stage must be one of {sorted(STAGE_SSL)}, got {stage!r}")
    elif ssl not in STAGE_SSL[stage]:
        problems.append(f"{where}: ssl for {stage} must be one of {STAGE_SSL[stage]}, got {ssl!r}")
    sampling = [s.name for s in STAGES.values() if s.samples]
    if SAMPLE_RATE in raw and stage not in sampling:
        problems.append(f"{where}: {SAMPLE_RATE} belongs to {'/'.join(sampling)} entries only")
    length = _positive(raw, "length", int, where, problems)
    batch = _positive(raw, "batch_size", int, where, problems)
    rate = _positive(raw, RATE, float, where, problems)
    sample = _positive(raw, SAMPLE_RATE, float, where, problems) if SAMPLE_RATE in raw else None
    if len(problems) > n:
        return None
    return Entry(stage, length, ssl, batch, rate, sample)


def parse_timings(raw: Any, source: str = "<timings>") -> Timings:
    """Validate a decoded timings document; one ``TimingsError`` lists every problem."""
    if not isinstance(raw, dict):
        raise TimingsError("the top level must be an object", source)
    top = {"device", "measured", "entries", "trials"}
    problems = [f"unknown top-level key {k!r}" for k in sorted(set(raw) - top)]
    for name in ("device", "measured"):
        if not isinstance(raw.get(name), str) or not raw.get(name):
            problems.append(f"{name} must be a non-empty string, got {raw.get(name)!r}")
    parts = _parts(raw.get("trials", []), problems)
    items = raw.get("entries", [] if parts else None)
    if not isinstance(items, list) or not (items or parts):
        problems.append(f"entries must be a non-empty list, got {items!r}")
        items = []
    entries = [_entry(e, f"entries[{i}]", problems) for i, e in enumerate(items)]
    seen: dict[tuple, int] = {}
    for i, e in enumerate(entries):
        if e is not None and seen.setdefault(e.key, i) != i:
            problems.append(
                f"entries[{i}]: same stage/ssl/length/batch_size as entries[{seen[e.key]}]"
            )
    if problems:
        raise TimingsError(problems, source)
    return Timings(raw["device"], raw["measured"], tuple(entries), source, parts)  # type: ignore[arg-type]


def _parts(items: Any, problems: list[str]) -> tuple[Part, ...]:
    if not isinstance(items, list):
        problems.append(f"trials must be a list, got {type(items).__name__}")
        return ()
    parts = [parse_part(p, f"trials[{i}]", problems) for i, p in enumerate(items)]
    seen: dict[tuple, int] = {}
    for i, p in enumerate(parts):
        if p is not None and seen.setdefault(p.key, i) != i:
            problems.append(f"trials[{i}]: same dataset/stage/ssl as trials[{seen[p.key]}]")
    return tuple(p for p in parts if p is not None)


def load_timings(path: str | Path) -> Timings:
    """Read and validate a timings file (format: the module docstring)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise TimingsError("file not found", str(path)) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise TimingsError(f"not readable as JSON: {exc}", str(path)) from None
    return parse_timings(raw, str(path))


def merge_timings(
    path: str | Path,
    device: str,
    measured: str,
    entries: list[Entry],
    parts: list[Part] | tuple[Part, ...] = (),
) -> Timings:
    """Write ``entries`` (and whole-trial ``parts``) into ``path``, replacing same-key ones of an
    existing file (the benchmarks fill one file in turn). Refuses to mix devices."""
    path = Path(path)
    old: tuple[Entry, ...] = ()
    old_parts: tuple[Part, ...] = ()
    if path.exists():
        prev = load_timings(path)
        if prev.device != device:
            raise TimingsError(
                f"measured on {prev.device!r}, not on this device {device!r}: use another file",
                str(path),
            )
        new_keys = {e.key for e in entries}
        old = tuple(e for e in prev.entries if e.key not in new_keys)
        part_keys = {p.key for p in parts}
        old_parts = tuple(p for p in prev.parts if p.key not in part_keys)
    out = Timings(device, measured, old + tuple(entries), str(path), old_parts + tuple(parts))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out.to_dict(), indent=1) + "\n")
    return out


def ssl_kind(stage: str, ssl: str | None) -> str:
    return STAGES[stage].ssl_kind(ssl)


def epoch_seconds(
    stage: str,
    length: int,
    n_train: int,
    ssl: str | None,
    timings: Timings | None = None,
    batch_size: int | None = None,
) -> float | None:
    """Seconds of one epoch over ``n_train`` series; ``None`` when not measured (no timings)."""
    if timings is None:
        return None
    rate = timings.rate(stage, ssl_kind(stage, ssl), length, batch_size)
    return None if rate is None else rate * n_train / 1000.0


def trial_cost(
    stage: str, dataset: str, epochs: int, ssl: str | None, timings: Timings | None = None
) -> float:
    """Relative cost of a trial, for scheduling order: measured seconds when known, else a proxy
    (epochs × train series × length; SSL runs a second view, roughly doubling stage 1)."""
    from ncsweep.data import REGISTRY

    info = REGISTRY.get(dataset)
    n_train, length = (info.n_train, info.length) if info else (500, 300)
    seconds = epoch_seconds(stage, length, n_train, ssl, timings)
    if seconds is not None:
        return seconds * epochs
    factor = 1.0 if ssl_kind(stage, ssl) in ("none", "-") else 2.0
    return factor * epochs * n_train * length * 1e-6


def device_label(device: str) -> str:
    """What a timings file says it was measured on: the GPU's name, or the CPU model, its core
    count and torch's thread count (CPU rates depend on all three)."""
    import os
    import platform

    import torch

    if str(device).startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    model = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"cpu ({model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
