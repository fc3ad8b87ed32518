"""Configuration: load YAML with `_base_` inheritance, validate against the schema, fill defaults.

The schema (`reid/schemas/config.schema.yaml`, shipped in the package and filled from the
registries by `reid.extensions`) is the single source of defaults; the Snakefile and the CLI
both validate through `validate_config`, so they see the same effective config. The helpers
(`deep_merge`, `canonical_json`, `stable_hash`, `normalise_numbers`) live in the leaf module
`reid.helpers` and are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from reid.errors import ConfigError
from reid.extensions import (
    SCHEMA_PATH,
    check_heads,
    check_styles,
    expand_all_methods,
    load_schema,
)
from reid.helpers import (
    YamlFileError,
    canonical_json,
    deep_merge,
    normalise_numbers,
    stable_hash,
)
from reid.helpers import read_yaml as _read_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "REPO_ROOT",
    "SCHEMA_PATH",
    "canonical_json",
    "deep_merge",
    "load_config",
    "load_file_with_bases",
    "load_schema",
    "normalise_numbers",
    "read_yaml",
    "stable_hash",
    "validate_config",
]


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one config file (a YAML mapping), with a clear error naming the file."""
    try:
        return _read_yaml(path, "config file")
    except YamlFileError as exc:
        raise ConfigError(str(exc)) from None


def load_file_with_bases(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config file, resolving `_base_` (a path relative to the file) recursively."""
    path = path.resolve()
    if path in _seen:
        raise ConfigError(f"config file {path} inherits from itself through `_base_`")
    data = read_yaml(path)
    base_name = data.pop("_base_", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not base_name:
        raise ConfigError(
            f"config file {path}: `_base_` must be the path of one YAML file (relative to "
            f"this file), got {base_name!r}"
        )
    base = load_file_with_bases(path.parent / str(base_name), (*_seen, path))
    return deep_merge(base, data)


def load_config(
    paths: Iterable[str | Path], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Load config files in order (later win), apply overrides, validate, fill defaults."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, load_file_with_bases(Path(path)))
    if overrides:
        merged = deep_merge(merged, overrides)
    return validate_config(merged)


def _defaults_filling_validator() -> type:
    base_cls = jsonschema.Draft202012Validator
    validate_properties = base_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base_cls, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = "the top level" if key == "<top level>" else f"'{key}'"
        return (
            f"unknown config key {', '.join(repr(e) for e in extra)} in {where}; "
            f"allowed keys: {', '.join(allowed)}"
        )
    if error.validator == "type":
        return (
            f"config key '{key}' must be of type {error.validator_value}, "
            f"got {error.instance!r} ({type(error.instance).__name__})"
        )
    if error.validator == "enum":
        return f"config key '{key}' is {error.instance!r}; expected one of {error.validator_value}"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    return f"config key '{key}': {error.message}"


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a config against the schema, returning a copy with defaults filled in."""
    filled = copy.deepcopy(dict(config))
    filled.pop("_base_", None)
    expand_all_methods(filled)
    validator = _defaults_filling_validator()(load_schema())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_describe(errors[0]) + " (see config/README.md)")
    _check_cross_keys(filled)
    return filled


def _check_cross_keys(config: dict[str, Any]) -> None:
    check_styles(config)
    check_heads(config)
    names = [task["name"] for task in config["tasks"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key 'tasks': task names must be unique, got {names}")
    for i, task in enumerate(config["tasks"]):
        if task["source"] == "download" and not task.get("url") and not task.get("archive"):
            raise ConfigError(
                f"config key 'tasks[{i}].url': source 'download' needs a url or an archive"
            )
        if task["source"] == "local" and not task.get("folder") and not task.get("archive"):
            raise ConfigError(
                f"config key 'tasks[{i}].folder': source 'local' needs a folder or an archive"
            )
