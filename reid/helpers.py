"""Library helpers every module may use: merging settings, their one canonical serialisation,
stable hashes, reading a YAML file. A leaf: it imports nothing of the project, so anything can
import it without an import cycle."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class YamlFileError(ValueError):
    """A YAML file is missing, unreadable or not a mapping (the message names the file)."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`: dicts recursively, everything else replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


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


def read_yaml(path: Path, what: str = "YAML file") -> dict[str, Any]:
    """Read one YAML mapping; `YamlFileError` names the file (`what` says what it is) and, for a
    syntax error, the line and column."""
    path = Path(path)
    if not path.is_file():
        raise YamlFileError(f"{what} {path} does not exist; pass an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlFileError(
            f"{what} {path} is not valid YAML{at}: {problem}; fix the syntax there"
        ) from None
    if not isinstance(data, dict):
        raise YamlFileError(f"{what} {path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def finite_number(value: Any) -> float | None:
    """`value` as a float when it is a finite number (a numeric string too), else None
    (None, NaN, ±inf, text)."""
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
