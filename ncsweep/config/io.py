"""Reading YAML files with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ncsweep.config.base import ConfigError


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping; a missing file, bad syntax or a non-mapping names ``path``."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"file not found: {p}", str(p))
    try:
        with p.open() as fh:  # a stream, not its text: yaml's marks then name the file
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML syntax error: {exc}", str(p)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"top level must be a mapping, got {type(data).__name__}", str(p))
    return data
