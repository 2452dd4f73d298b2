"""Strict conversion between nested frozen dataclasses and plain dicts.

Every config in ncsweep is a frozen dataclass. YAML files, CLI overrides and Ray's flat
trial dicts all pass through :func:`from_dict`, which rejects unknown keys and wrong types
with an error that names the full dotted path (``stage1.ssl.zeta``) of every problem.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value, key or file is wrong. The message lists every problem found."""

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"invalid config{f' in {source}' if source else ''}"
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    """Convert ``value`` to ``tp`` or record a problem and return ``value`` unchanged."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected a mapping for {tp.__name__}, got {value!r}")
            return value
        return _build(tp, value, path, problems)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            trial: list[str] = []
            out = _convert(value, arg, path, trial)
            if not trial:
                return out
        problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return value
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(a) for a in typing.get_args(tp))
            problems.append(f"{path}: {value!r} is not one of {choices}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            problems.append(f"{path}: expected a list, got {value!r}")
            return value
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                problems.append(f"{path}: expected {len(args)} items, got {len(value)}")
                return value
            return tuple(
                _convert(v, a, f"{path}[{i}]", problems)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else Any
        out = [_convert(v, item, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected a mapping, got {value!r}")
        return dict(value) if isinstance(value, Mapping) else value
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            problems.append(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {value!r}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type[T], data: Mapping[str, Any], path: str, problems: list[str]) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    for key in unknown:
        known = ", ".join(sorted(fields))
        problems.append(f"{path}.{key}: unknown key (known keys: {known})".lstrip("."))
    kwargs = {}
    limits = getattr(cls, "LIMITS", {})
    for name in fields:
        if name in data:
            where = f"{path}.{name}".lstrip(".")
            before = len(problems)
            kwargs[name] = _convert(data[name], hints[name], where, problems)
            if len(problems) == before and name in limits:
                bad = outside(kwargs[name], limits[name])
                if bad:
                    problems.append(f"{where}: {bad}")
    if problems:
        return None  # type: ignore[return-value]
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # __post_init__ checks
        problems.append(f"{path or cls.__name__}: {exc}")
        return None  # type: ignore[return-value]


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def device_problem(value: Any) -> str | None:
    """Why ``value`` is no device name torch and ncsweep accept, or None (``gpu0`` is refused
    here, with the config, rather than by torch in the middle of a run)."""
    if isinstance(value, str) and _DEVICE.fullmatch(value):
        return None
    return f"must be auto, cpu, cuda or cuda:N (N = 0, 1, ...), got {value!r}"


def outside(value: Any, rule: str) -> str | None:
    """Why ``value`` breaks ``rule`` (">0", ">=1", "[0,1)", "device"), or None when it obeys it.

    A config class lists its rules in a plain class attribute ``LIMITS`` {field: rule}."""
    if rule == "device":
        return device_problem(value)
    if rule.startswith(">"):
        op = ">=" if rule.startswith(">=") else ">"
        low = float(rule[len(op) :])
        ok = value >= low if op == ">=" else value > low
        return None if ok else f"must be {op} {rule[len(op) :]}, got {value!r}"
    lo, hi = (float(x) for x in rule[1:-1].split(","))
    ok = (lo < value if rule[0] == "(" else lo <= value) and (
        value < hi if rule[-1] == ")" else value <= hi
    )
    return None if ok else f"must be in {rule}, got {value!r}"


def from_dict(cls: type[T], data: Mapping[str, Any] | None, source: str | None = None) -> T:
    """Build ``cls`` from a nested mapping; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    out = _build(cls, data or {}, "", problems)
    if problems:
        raise ConfigError(problems, source)
    return out


def to_dict(cfg: Any) -> dict[str, Any]:
    """Nested plain-python dict of a config (tuples become lists, YAML/JSON friendly)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def without_late_defaults(
    cls: type, config: Mapping[str, Any], section: str | None = None
) -> dict[str, Any]:
    """A copy of the nested ``config`` dict of ``cls`` without the fields marked late (metadata
    ``{"late": True}``: added after trial keys were first issued) that hold their default; a late
    section at its default goes entirely. ``section``: ``config[section]`` alone is of ``cls``.

    Trial keys hash this, so a field added later changes no key of a study that leaves it at its
    default (stored studies resume), while a non-default value still makes a trial of its own."""
    if section is not None:
        return {**config, section: without_late_defaults(cls, config.get(section, {}))}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for name, value in config.items():
        f = fields.get(name)
        default = _default(f) if f is not None else dataclasses.MISSING
        if f is not None and f.metadata.get("late") and value == to_dict(default):
            continue
        if isinstance(value, Mapping) and dataclasses.is_dataclass(default):
            value = without_late_defaults(type(default), value)
        out[name] = value
    return out


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (no shared mutable state)."""
    out: dict[str, Any] = {
        k: (deep_merge(v, {}) if isinstance(v, Mapping) else v) for k, v in base.items()
    }
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = deep_merge(v, {}) if isinstance(v, Mapping) else v
    return out


def override(cfg: T, changes: Mapping[str, Any], source: str | None = None) -> T:
    """A copy of ``cfg`` with nested ``changes`` applied, validated like :func:`from_dict`."""
    return from_dict(type(cfg), deep_merge(to_dict(cfg), changes), source)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (for MLflow params and Ray's flat dicts)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def unflatten(d: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten`."""
    out: dict[str, Any] = {}
    for key, v in d.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out
