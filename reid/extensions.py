"""The registries as the config sees them: the schema's name lists are filled from them.

`reid/schemas/config.schema.yaml` lists no method, dataset or style names; `load_schema`
fills them in here from the registries (and merges each strategy's `options` schema as
`method.<name>`), so a new strategy, dataset adapter or generated style is one new module.
"""

from __future__ import annotations

import copy
from typing import Any

from reid.errors import ConfigError


def fill_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config schema with the registries' names and strategy options filled in."""
    from reid.data.datasets import DATASETS
    from reid.data.synthetic import STYLES
    from reid.strategies import STRATEGIES, comparison_methods, sequential_methods

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


def check_styles(config: dict[str, Any]) -> None:
    """Refuse a generated style that writes another dataset's layout than its task's adapter."""
    from reid.data.synthetic import STYLES

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
