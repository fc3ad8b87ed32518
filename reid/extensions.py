"""The one module that assembles the config schema from the registries.

`reid/schemas/config.schema.yaml` (package data) lists no method, head, dataset or style
names: `load_schema` fills them in here from the registries (and merges each strategy's
`options` schema as `method.<name>`, each head's as `model.<name>`), so a new strategy, head,
dataset adapter or generated style is one new module. The checks of a config that need a
registry (`comparison.methods: all`, a generated style that fits its task's dataset, a strategy
or a growing classifier that fits its head) live here too; `reid.config` calls them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reid.data.datasets import DATASETS
from reid.data.synthetic import STYLES
from reid.errors import ConfigError
from reid.helpers import YamlFileError, read_yaml
from reid.models import HEADS
from reid.runs import method_model
from reid.strategies import STRATEGIES, comparison_methods, comparison_strategy, sequential_methods

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
    model = props["model"]["properties"]
    model["head"]["enum"] = HEADS.names()
    for name, spec in HEADS.items():
        if spec.options is not None:
            model[name] = copy.deepcopy(spec.options)
    method = props["method"]["properties"]
    method["name"]["enum"] = sequential_methods()
    for name, cls in STRATEGIES.items():
        if cls.options is not None:
            method[name] = copy.deepcopy(cls.options)
    methods = props["comparison"]["properties"]["methods"]
    methods["items"]["enum"] = comparison_methods()
    methods["default"] = comparison_methods()
    # An override is a partial model section: the model's schema without its defaults.
    partial = _without_defaults(props["model"])
    overrides = props["comparison"]["properties"]["model_overrides"]
    overrides["properties"] = {name: copy.deepcopy(partial) for name in comparison_methods()}
    overrides["additionalProperties"] = False
    task = props["tasks"]["items"]["properties"]
    task["dataset"]["enum"] = DATASETS.names()
    task["synthetic"]["properties"]["style"]["enum"] = STYLES.names()
    return schema


def _without_defaults(node: Any) -> Any:
    """A copy of a schema node with every `default` removed (nothing is filled in)."""
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


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


def strategy_heads(name: str) -> tuple[str, ...] | None:
    """The heads a comparison method's strategy can train with (None: every head)."""
    return comparison_strategy(name).heads


def _head_clash(name: str, key: str, head: str) -> str | None:
    heads = strategy_heads(name)
    if heads is None or head in heads:
        return None
    return (
        f"config keys '{key}' ({name!r}) and 'model.head' ({head!r}) disagree: {name} needs "
        f"model.head {' or '.join(map(repr, heads))}"
    )


def check_heads(config: dict[str, Any]) -> None:
    """Refuse a strategy with a head it cannot use (the covariance loss needs the paper's
    pipelines), a growing classifier on a head without one, and `trainable: both` with it."""
    model = config["model"]
    clash = _head_clash(config["method"]["name"], "method.name", model["head"])
    if clash:
        raise ConfigError(f"{clash}, or another method.name")
    overrides = config["comparison"]["model_overrides"]
    for name in config["comparison"]["methods"]:
        clash = _head_clash(name, "comparison.methods", method_model(config, name)["head"])
        if clash:
            raise ConfigError(
                f"{clash}; give it its own model in comparison.model_overrides.{name} "
                f"(e.g. {{head: pipeline}}) or drop it from comparison.methods"
            )
    unknown = sorted(set(overrides) - set(config["comparison"]["methods"]))
    if unknown:
        raise ConfigError(
            f"config key 'comparison.model_overrides' names {unknown}, which are not in "
            "comparison.methods; override only methods the comparison runs"
        )
    for key, section in [("model", model)] + [
        (f"comparison.model_overrides.{name}", method_model(config, name)) for name in overrides
    ]:
        growable = HEADS.get(section["head"]).growable
        if section["classifier"] == "growing" and not growable:
            raise ConfigError(
                f"config keys '{key}.classifier' (growing) and '{key}.head' "
                f"({section['head']!r}) disagree: that head has one classifier per task; use "
                "head bnneck or classifier per_task"
            )
    if model["classifier"] == "growing" and config["method"]["trainable"] == "both":
        raise ConfigError(
            "config keys 'method.trainable' (both) and 'model.classifier' (growing) disagree: "
            "'both' lets earlier pipelines learn without their classifier, which a growing "
            "classifier shares with the new task; use trainable base_second or per_task"
        )
