"""Crash-safe file writes shared by trainers and the study ledger (no torch, no Ray here)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def _umask() -> int:
    """The process umask, read without changing it where /proc says it (threads write too)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(
    path: Path, write: Callable[[IO[bytes]], object], keep_previous: Path | None = None
) -> Path:
    """Write through a temp file in the same folder, then rename: a kill never leaves half a file.

    The file gets the mode of any other new file (0666 minus the umask; mkstemp's 0600 would
    hide a study from teammates, issue 14 §7). ``keep_previous``: the file being replaced is
    first renamed there, so its last good version survives a later corruption of the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_previous is not None and path.is_file():
            os.replace(path, keep_previous)  # a kill right here leaves only the previous: loadable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, lambda fh: fh.write(text.encode()))
