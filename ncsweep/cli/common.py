"""Helpers shared by CLI commands: error translation, progress lines, final JSON."""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


def run_dir_options(config_help: str) -> Callable[[Callable], Callable]:
    """``--config FILE``, ``--out DIR`` and ``--resume/--no-resume``: every one-stage command."""
    options = [
        click.option("--config", "config_file", type=click.Path(path_type=Path), help=config_help),
        click.option(
            "--out", required=True, type=click.Path(path_type=Path), help="Run directory."
        ),
        click.option(
            "--resume/--no-resume",
            default=True,
            show_default=True,
            help="Continue from OUT/checkpoint.pt.",
        ),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):  # the first listed stays first in --help
            command = option(command)
        return command

    return decorate


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
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        raise click.ClickException(unwritable_message(exc)) from exc


# errno values of a place the user cannot write (read-only mount, permissions, a file in the way)
_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.ENOSPC, errno.EEXIST}


def unwritable_message(exc: OSError) -> str:
    where = exc.filename or "the output folder"
    return (
        f"cannot write {where}: {exc.strerror or exc}. Choose a folder you can write "
        "(--out / --storage), or fix its permissions; nothing was changed there."
    )


def check_device(name: str) -> None:
    """``cuda``/``cuda:N`` on a machine where torch sees no such GPU: one line, before training
    and, for a --device flag outside any config, a name that is no device at all."""
    from ncsweep.config.base import device_problem

    bad = device_problem(name)
    if bad:
        raise click.ClickException(f"--device: {bad}")
    if not name.startswith("cuda"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(name.partition(":")[2] or 0)
    if index >= count:
        seen = f"{count} CUDA device(s)" if count else "no CUDA device"
        raise click.ClickException(
            f"--device {name}: torch sees {seen} on this machine (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda}); use --device cpu or --device auto"
        )


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
    flags). Errors name the file when the file alone is at fault, else the command line: a bad
    flag next to ``--config`` is not blamed on a good file."""
    from ncsweep.config import ConfigError, deep_merge, from_dict, load_yaml

    base = load_yaml(config_file) if config_file else {}
    try:
        return from_dict(cls, deep_merge(base, changes), "command line")
    except ConfigError as exc:
        if config_file is None:
            raise
        if set(exc.problems) <= set(_problems(cls, base)):
            raise ConfigError(exc.problems, str(config_file)) from None
        raise ConfigError(exc.problems, f"the command-line flags (over {config_file})") from None


def _problems(cls: type, data: dict[str, Any]) -> list[str]:
    from ncsweep.config import ConfigError, from_dict

    try:
        from_dict(cls, data)
    except ConfigError as exc:
        return exc.problems
    return []
