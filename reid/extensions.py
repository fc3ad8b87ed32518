"""The one module that assembles the config schema from the registries.

`reid/schemas/config.schema.yaml` (package data) lists no method, dataset or style names:
`load_schema` fills them in here from the registries (and merges each strategy's `options`
schema as `method.<name>`), so a new strategy, dataset adapter or generated style is one new
module. The checks of a config that need a registry (`comparison.methods: all`, a generated
style that fits its task's dataset) live here too; `reid.config` calls them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reid.data.datasets import DATASETS
from reid.data.synthetic import STYLES
from reid.errors import ConfigError
from reid.helpers import YamlFileError, read_yaml
from reid.strategies import STRATEGIES, comparison_methods, sequential_methods

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


def load_schema() -> dict[str, Any]:
    """The config schema with the registries' names and strategy options filled in."""
    if not SCHEMA_PATH.is_file():
        raise ConfigError(
            f"config schema not found at {SCHEMA_PATH}; the package was installed without its "
            "data files: reinstall it (`pip install .` or `pip install -e .`)"
        )
    try:
        return fill_schema(read_yaml(SCHEMA_PATH, "config schema"))
    except YamlFileError as exc:
        raise ConfigError(str(exc)) from None


def fill_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config schema with the registries' names and strategy options filled in."""
    schema = copy.deepcopy(schema)
    props = schema["properties"]
    method = props["method"]["properties"]
    method["name"]["enum"] = sequential_methods()
    for name, cls in STRATEGIES.items():
        if cls.options is not None:
            method[name] = copy.deepcopy(cls.options)
    methods = props["comparison"]["properties"]["methods"]
    methods["items"]["enum"] = comparison_methods()
    methods["default"] = comparison_methods()
    task = props["tasks"]["items"]["properties"]
    task["dataset"]["enum"] = DATASETS.names()
    task["synthetic"]["properties"]["style"]["enum"] = STYLES.names()
    return schema


def expand_all_methods(config: dict[str, Any]) -> None:
    """`comparison.methods: all` = every registered method and variant, in table order."""
    methods = (config.get("comparison") or {}).get("methods")
    if not isinstance(methods, str):
        return
    if methods != "all":
        raise ConfigError(
            f"config key 'comparison.methods' is {methods!r}; expected 'all' or a list of "
            f"{comparison_methods()} (see config/README.md)"
        )
    config["comparison"] = dict(config["comparison"], methods=comparison_methods())


def check_styles(config: dict[str, Any]) -> None:
    """Refuse a generated style that writes another dataset's layout than its task's adapter."""
    for i, task in enumerate(config["tasks"]):
        if task.get("source") != "synthetic":
            continue
        style = task["synthetic"]["style"]
        writes = STYLES.get(style)
        if writes != task["dataset"]:
            fits = [name for name, adapter in STYLES.items() if adapter == task["dataset"]]
            raise ConfigError(
                f"config keys 'tasks[{i}].synthetic.style' ({style!r}) and "
                f"'tasks[{i}].dataset' ({task['dataset']!r}) disagree: style {style!r} writes "
                f"{writes} folders; use synthetic.style {' or '.join(map(repr, fits)) or '(none)'} "
                f"or dataset {writes!r}"
            )
