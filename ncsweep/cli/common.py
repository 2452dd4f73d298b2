"""Helpers shared by CLI commands: error translation, progress lines, final JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn ncsweep's input errors into a one-message exit 1 (no traceback for bad input)."""
    from ncsweep.config import ConfigError

    expected: tuple[type[BaseException], ...] = (ConfigError, FileNotFoundError)
    try:
        from ncsweep.data import DataError
        from ncsweep.train.common import CheckpointError

        expected += (DataError, CheckpointError)
    except ImportError:  # pragma: no cover - partial installs
        pass
    try:
        yield
    except expected as exc:
        raise click.ClickException(str(exc)) from exc


def progress_printer(total: int, keys: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """A report callable printing one line per epoch to stderr (stdout stays machine-readable)."""

    def report(m: dict[str, Any]) -> None:
        parts = [f"epoch {int(m['epoch'])}/{total}"]
        parts += [
            f"{k.removeprefix('train/').replace('/', '_')} {m[k]:.4g}" for k in keys if k in m
        ]
        parts.append(f"[{m.get('seconds', 0.0):.1f}s]")
        click.echo("  ".join(parts), err=True)

    return report


def print_final(metrics: dict[str, Any]) -> None:
    """The final metrics as ONE JSON object on the last line of stdout."""
    sys.stdout.flush()
    click.echo(json.dumps(metrics, sort_keys=True, default=float))


def config_from(cls: type, config_file: Path | None, changes: dict[str, Any]):
    """``cls`` built from its defaults ← the YAML ``config_file`` ← ``changes`` (command-line
    flags); errors name the file, or "command line" when there is none."""
    from ncsweep.config import deep_merge, from_dict, load_yaml

    base = load_yaml(config_file) if config_file else {}
    return from_dict(cls, deep_merge(base, changes), config_source(config_file))


def config_source(config_file: Path | None) -> str:
    return str(config_file) if config_file else "command line"
