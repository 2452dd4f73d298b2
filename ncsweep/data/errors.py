"""The one error type of the data layer."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A dataset is missing or one of its files is malformed.

    The message starts with the file and the 1-based line the problem was found on, so that
    ``str(err)`` alone tells a user where to look; ``path`` and ``line`` carry the same facts.
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}, line {line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
