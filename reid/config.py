"""Configuration: load YAML with `_base_` inheritance, validate against the schema, fill defaults.

The schema (`reid/schemas/config.schema.yaml`, shipped in the package) is the single source of defaults; the Snakefile
and the CLI both validate through `validate_config`, so they see the same effective config.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reid.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


def load_schema() -> dict[str, Any]:
    """Read the config schema."""
    if not SCHEMA_PATH.is_file():
        raise ConfigError(
            f"config schema not found at {SCHEMA_PATH}; the package was installed without its "
            "data files: reinstall it (`pip install .` or `pip install -e .`)"
        )
    from reid.extensions import fill_schema

    return fill_schema(yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8")))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`: dicts recursively, everything else replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping, with a clear error naming the file."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"config file {path} is not valid YAML{at}: {problem}; fix the syntax there"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, not {type(data).__name__}"
        )
    return data


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
    _expand_all_methods(filled)
    validator = _defaults_filling_validator()(load_schema())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_describe(errors[0]) + " (see config/README.md)")
    _check_cross_keys(filled)
    return filled


def _expand_all_methods(config: dict[str, Any]) -> None:
    """`comparison.methods: all` = every registered method and variant, in table order."""
    from reid.strategies import comparison_methods

    methods = (config.get("comparison") or {}).get("methods")
    if not isinstance(methods, str):
        return
    if methods != "all":
        raise ConfigError(
            f"config key 'comparison.methods' is {methods!r}; expected 'all' or a list of "
            f"{comparison_methods()} (see config/README.md)"
        )
    config["comparison"] = dict(config["comparison"], methods=comparison_methods())


def _check_cross_keys(config: dict[str, Any]) -> None:
    from reid.extensions import check_styles

    check_styles(config)
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


def normalise_numbers(obj: Any) -> Any:
    """A copy of `obj` where a float with an integral value is an int (`1.0` -> `1`, `-0.0`
    -> `0`), so `lam: 1` and `lam: 1.0` name the same run. Booleans stay booleans."""
    if isinstance(obj, Mapping):
        return {key: normalise_numbers(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [normalise_numbers(value) for value in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    return obj


def canonical_json(obj: Any) -> str:
    """The one serialisation of a settings object: sorted keys, normalised numbers, compact.

    Hashes and Snakemake rule parameters both use it, so an equal config written in another
    key order (or `1` for `1.0`) changes neither a run's name nor a rule's parameters."""
    return json.dumps(normalise_numbers(obj), sort_keys=True, separators=(",", ":"), default=str)


def stable_hash(obj: Any, length: int = 12) -> str:
    """Short, stable hash of a JSON-serialisable object (key order and `1` vs `1.0` do not
    matter)."""
    return hashlib.sha1(canonical_json(obj).encode("utf-8")).hexdigest()[:length]
