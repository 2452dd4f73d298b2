"""What ``ncsweep run`` checks before it touches the storage or starts Ray (issue 14 §1, §2, §8).

Each check raises :class:`StudyError` with one message naming what is wrong and what to do:
an unreachable ``--address``, a dataset that does not load, and a storage that holds another
study (a second study would otherwise replace the first one's ``study.yaml`` and ``plan.json``,
hiding its finished trials from ``status``, ``resume`` and ``tables``). No Ray here.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import IO, Any

from ncsweep.sweep.ledger import PLAN, STUDY, Ledger, read_json

CONNECT_TIMEOUT_S = 10.0


class StudyError(RuntimeError):
    """The study cannot start (missing data, an empty storage directory, ...)."""


def check_address(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """A ``host:port`` (or ``ray://host:port``) that accepts no TCP connection within
    ``timeout_s``: refused at once (``ray.init`` waits over 90 s and then raises a traceback)."""
    if not address or address in ("auto", "local"):
        return  # Ray finds (or refuses) these itself, quickly
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise StudyError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise StudyError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc} within {timeout_s:.0f} s): "
            "start it with `ray start --head` there, or check the address; nothing was written "
            "to the storage"
        ) from None


def check_datasets(space: Any, trials: list, stream: IO[str]) -> None:
    """Load every dataset of the study once, as ``ncsweep data check`` does: a bad file (a NaN,
    a ragged row) is refused now with the reader's message, not by every trial that uses it."""
    from ncsweep.data import DataError, load_ucr
    from ncsweep.study.plan import data_root

    root, bad = data_root(trials), []
    for name in space.datasets:
        try:
            load_ucr(name, root)
        except DataError as exc:
            bad.append(f"  {name}: {exc}")
    if bad:
        raise StudyError("datasets that do not load, not starting:\n" + "\n".join(bad))
    print(f"loaded {len(space.datasets)} dataset(s) once: all readable", file=stream)


def stored_study(storage: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(study name, plan) of what ``storage`` holds; (None, []) for a new storage."""
    plan = read_json(storage / PLAN)
    if not (storage / STUDY).is_file() or not isinstance(plan, list):
        return None, []
    from ncsweep.config import ConfigError, load_yaml

    try:
        name = load_yaml(storage / STUDY).get("study")
    except ConfigError:
        name = None
    return name, plan


def check_same_study(ledger: Ledger, space: Any, trials: list, stream: IO[str]) -> None:
    """``run`` into an existing storage continues only the same study: the same name and a plan
    that keeps every stored trial (it may add trials, which it says)."""
    name, plan = stored_study(ledger.storage)
    if name is None and not plan:
        return
    stored = [t["key"] for t in plan]
    done = sum(ledger.is_done(k) for k in stored)
    held = f"{ledger.storage} holds study {name!r} ({len(stored)} trials, {done} done)"
    advice = (
        f"use another --storage for {space.name!r}, or `ncsweep resume {ledger.storage}` to "
        f"continue {name!r}; nothing was changed"
    )
    if name != space.name:
        raise StudyError(f"{held}; {space.source} is study {space.name!r}: {advice}")
    keys = {t.key for t in trials}
    dropped = [k for k in stored if k not in keys]
    if dropped and getattr(space, "search", None) is None:
        raise StudyError(
            f"{held}; {space.source} (also {space.name!r}) has a different plan that drops "
            f"{len(dropped)} of its trials (e.g. {dropped[0]}): {advice}"
        )
    added = len(keys - set(stored))
    if added:
        print(
            f"study {space.name}: the plan adds {added} trial(s) to {ledger.storage}", file=stream
        )
