"""Typed configuration: dataclasses with defaults, JSON round trips, and CLI flags built from fields.

The command line never declares a training/benchmark option by hand: ``add_dataclass_arguments``
turns each field of a config dataclass into ``--field-name`` (type, default and help from the
field), so flags and configs cannot drift. A run writes its config next to its results with
``save_config``; ``load_config`` names any key it does not know.

Field help text comes from ``field(metadata={"help": "..."})``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from medganbench.errors import ConfigError

C = TypeVar("C")


def _field_types(cls) -> dict[str, Any]:
    return get_type_hints(cls)


def _unwrap_optional(tp):
    """``Optional[X]`` -> (X, True); anything else -> (tp, False)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _coerce(name: str, tp, value):
    """Convert a JSON/CLI value to the field's declared type, naming the field on failure."""
    base, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"Config value {name!r} may not be null.")
    if dataclasses.is_dataclass(base) and isinstance(value, dict):
        return from_dict(base, value, _prefix=f"{name}.")
    origin = get_origin(base)
    try:
        if base is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in {"1", "true", "yes", "on"}:
                    return True
                if low in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(value)
            return bool(value)
        if base in (int, float, str):
            if base is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return base(value)
        if origin in (tuple, list):
            (inner, *rest) = get_args(base) or (Any,)
            items = value.split(",") if isinstance(value, str) else list(value)
            conv = [(_coerce(name, inner, v) if inner is not Any else v) for v in items]
            return tuple(conv) if origin is tuple else conv
        if origin is typing.Literal:
            if value not in get_args(base):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise ConfigError(
            f"Config value {name}={value!r} is not a valid {getattr(base, '__name__', base)}."
        ) from None
    return value


def from_dict(cls: type[C], data: dict, _prefix: str = "") -> C:
    """Build ``cls`` from a dict; an unknown key raises :class:`ConfigError` naming it."""
    if not isinstance(data, dict):
        raise ConfigError(f"Config for {cls.__name__} must be a mapping, got {type(data).__name__}.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in names]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(k, sorted(names), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown config key {_prefix}{k!r} for {cls.__name__}.{hint} "
            f"Valid keys: {', '.join(sorted(names))}."
        )
    hints = _field_types(cls)
    kwargs = {k: _coerce(f"{_prefix}{k}", hints[k], v) for k, v in data.items()}
    return cls(**kwargs)


def replace(cfg: C, **overrides) -> C:
    """``dataclasses.replace`` that names unknown keys and coerces types."""
    merged = {**to_dict(cfg), **overrides}
    return from_dict(type(cfg), merged)


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def save_config(cfg, path: str | Path) -> Path:
    """Write ``cfg`` as JSON (atomically) and return the path."""
    from medganbench.io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, json.dumps({"type": type(cfg).__name__, **to_dict(cfg)}, indent=2, sort_keys=True))
    return path


def load_config_dict(path: str | Path) -> dict:
    """A file written by :func:`save_config` as a dict of its fields (the ``type`` tag removed)."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of config fields, got {type(data).__name__}.")
    data.pop("type", None)
    return data


def load_config(cls: type[C], path: str | Path) -> C:
    data = load_config_dict(path)
    try:
        return from_dict(cls, data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


# --- argparse ----------------------------------------------------------------------------------

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, *, exclude: tuple[str, ...] = (),
                            group_title: str | None = None) -> None:
    """Add one ``--flag`` per field of ``cls``. Defaults are ``SUPPRESS`` so only given flags override."""
    target = parser.add_argument_group(group_title or cls.__name__) if group_title is not False else parser
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude or dataclasses.is_dataclass(hints[f.name]):
            continue
        base, _ = _unwrap_optional(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_ = f.metadata.get("help", "")
        help_ = f"{help_} (default: {default})" if help_ else f"default: {default}"
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_}
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif get_origin(base) is typing.Literal:
            kw["choices"] = list(get_args(base))
        else:
            kw["metavar"] = f.name.upper()
        target.add_argument(_flag(f.name), **kw)


def dataclass_from_args(cls: type[C], args: argparse.Namespace, base: C | None = None) -> C:
    """Build ``cls`` from parsed args: fields given on the command line override ``base``/defaults."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    start = to_dict(base) if base is not None else {}
    return from_dict(cls, {**start, **given})
