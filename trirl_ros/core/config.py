"""Typed, frozen configuration dataclasses loaded from YAML.

Every config in trirl_ros is a ``@dataclass(frozen=True)`` whose ``__post_init__`` validates it.
:func:`from_dict` builds one from plain data (as ``yaml.safe_load`` returns it): unknown keys are
rejected, missing required keys are named, nested dataclasses / tuples / Optionals are built
recursively, and every error names the file and the dotted key path.

:func:`with_overrides` applies ``key.sub=value`` strings (the CLI's ``--set``) to a dataclass,
re-running validation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the file and key."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert ``value`` (from YAML) to type annotation ``tp``; raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {value!r} matches none of {[_type_name(a) for a in args]}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            items = [_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            item_tp = args[0] if args else Any
            items = [_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        kt, vt = args if args else (Any, Any)
        return {_convert(kt, k, f"{where}.{k}"): _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: cannot convert {value!r} to {_type_name(tp)}")


def from_dict(cls: type[T], data: dict, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and naming missing ones."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    prefix = f"{where}." if where else ""
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown key(s) {unknown}; allowed: {sorted(fields)}"
        )
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{prefix}{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where or cls.__name__}: missing required key '{name}'")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """``yaml.safe_load`` of ``path``; a missing file or invalid YAML raises ConfigError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def load_yaml(path: str | Path, cls: type[T]) -> T:
    """Load ``path`` with ``yaml.safe_load`` and build ``cls`` from it; errors name the file."""
    path = Path(path)
    data = read_yaml(path)
    try:
        return from_dict(cls, data if data is not None else {}, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def to_dict(obj: Any) -> Any:
    """Plain-data (YAML-safe) view of a config dataclass: tuples become lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def with_overrides(obj: T, overrides: list[str] | tuple[str, ...]) -> T:
    """Return a copy of config ``obj`` with ``key.sub=value`` overrides (values parsed as YAML)."""
    data = to_dict(obj)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"override {item!r}: unknown key '{part}'")
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"override {item!r}: unknown key '{parts[-1]}'")
        node[parts[-1]] = yaml.safe_load(raw)
    return from_dict(type(obj), data)


def package_root() -> Path:
    """The folder that holds config/, launch/ and models/: the source tree when run from a
    checkout or editable install, else ``share/trirl_ros`` of a colcon/pip install."""
    src = Path(__file__).resolve().parents[2]
    if (src / "config").is_dir():
        return src
    import sys

    for prefix in (Path(sys.prefix), *map(Path, _ament_prefixes())):
        share = prefix / "share" / "trirl_ros"
        if (share / "config").is_dir():
            return share
    raise ConfigError(
        "cannot find the trirl_ros config/ folder: neither a source checkout nor share/trirl_ros"
    )


def _ament_prefixes() -> list[str]:
    import os

    return [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def config_path(*parts: str) -> Path:
    """Path of a file under the package's config/ folder, e.g. ``config_path('robots', 'go2.yaml')``."""
    return package_root().joinpath("config", *parts)
