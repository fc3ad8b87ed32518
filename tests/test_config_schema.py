"""Property-based tests of the config schema: valid overrides keep every other default, unknown
keys and wrong types are refused naming the dotted key, `_base_` inheritance and its loops."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reid.cli import main
from reid.config import load_config, load_schema, validate_config
from reid.errors import ConfigError
from reid.extensions import strategy_heads

SCHEMA = load_schema()
DEFAULTS = validate_config({})
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def _walk(node: dict[str, Any], path: tuple[str, ...]):
    """(path, schema) of every object (under `objects`) and scalar leaf, outside arrays."""
    if "object" in _types(node):
        yield "object", path, node
        for name, child in node.get("properties", {}).items():
            if name != "_base_":
                yield from _walk(child, (*path, name))
    elif _types(node) & {"integer", "number", "boolean", "string"}:
        yield "leaf", path, node


NODES = list(_walk(SCHEMA, ()))
LEAVES = {path: node for kind, path, node in NODES if kind == "leaf"}
OBJECTS = {path: node for kind, path, node in NODES if kind == "object"}


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return value  # type: ignore[return-value]


def put(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        config = config[part]
    config[path[-1]] = value


def valid_values(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts for one leaf."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = _types(node)
    options = []
    if "null" in kinds:
        options.append(st.none())
    if "boolean" in kinds:
        options.append(st.booleans())
    if "integer" in kinds:
        low = node.get("minimum", -(10**6))
        options.append(st.integers(low, node.get("maximum", low + 10**6)))
    if "number" in kinds:
        low = node.get("minimum", node.get("exclusiveMinimum", -1e6))
        options.append(
            st.floats(
                low,
                node.get("maximum", 1e6),
                exclude_min="exclusiveMinimum" in node,
                allow_nan=False,
            )
        )
    if "string" in kinds:
        options.append(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20))
    return st.one_of(options)


def wrong_values(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of a type the schema refuses for one leaf (never a numeric-looking float for
    an integer, which JSON Schema counts as an integer)."""
    kinds = _types(node)
    options = [st.lists(st.integers(), max_size=2), st.dictionaries(st.just("a"), st.integers())]
    if "enum" in node:
        options.append(st.text(max_size=8).filter(lambda v: v not in node["enum"]))
    elif "string" not in kinds:
        options.append(st.text(max_size=8))
    if not kinds & {"integer", "number"}:
        options.append(st.integers())
    if "integer" in kinds and "number" not in kinds:
        options.append(
            st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != int(v))
        )
    if "boolean" not in kinds:
        options.append(st.booleans())
    return st.one_of(options)


# Keys whose values must agree with other keys (checked after the schema; tested with their
# partners in test_heads.py and test_recipe_training.py): kept at their defaults here. A method
# may need another head than the default model's (`register_strategy(heads=...)`).
CROSS_CHECKED = {("model", "head"), ("model", "classifier"), ("method", "name")} | {
    path for path in LEAVES if path[:2] == ("comparison", "model_overrides")
}


def free_values(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Values of a leaf that need no other key changed: `method.name` only among the strategies
    that train with the default `model.head` (a strategy restricted to other heads, e.g.
    PatchKD's BNNeck, is refused with it; that pairing is tested with the strategy)."""
    if path == ("method", "name"):
        head = DEFAULTS["model"]["head"]
        heads = {name: strategy_heads(name) for name in LEAVES[path]["enum"]}
        return st.sampled_from([n for n, h in heads.items() if h is None or head in h])
    return valid_values(LEAVES[path])


@st.composite
def overrides(draw) -> dict[tuple[str, ...], Any]:
    free = sorted(set(LEAVES) - CROSS_CHECKED)
    paths = draw(st.lists(st.sampled_from(free), unique=True, max_size=6))
    return {path: draw(free_values(path)) for path in paths}


@SETTINGS
@given(overrides())
def test_valid_overrides_validate_and_keep_the_other_defaults(chosen) -> None:
    config: dict[str, Any] = {}
    expected = copy.deepcopy(DEFAULTS)
    for path, value in chosen.items():
        _merge(config, nest(path, value))
        put(expected, path, value)
    assert validate_config(config) == expected


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


KEY_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@SETTINGS
@given(st.sampled_from(sorted(OBJECTS)), KEY_NAMES, st.integers())
def test_unknown_key_at_any_level_is_named(path, key, value) -> None:
    known = set(OBJECTS[path].get("properties", {}))
    if key in known:
        key = key + "_x" if key + "_x" not in known else key + "_y"
    with pytest.raises(ConfigError) as info:
        validate_config(nest((*path, key), value))
    message = str(info.value)
    where = "the top level" if not path else f"'{dotted(path)}'"
    assert f"unknown config key '{key}' in {where}" in message
    assert "allowed keys" in message


@SETTINGS
@given(KEY_NAMES)
def test_unknown_key_in_a_task_is_named(key) -> None:
    task = {"name": "market", "dataset": "market1501", "source": "synthetic"}
    if key in SCHEMA["properties"]["tasks"]["items"]["properties"]:
        key += "_x"
    with pytest.raises(ConfigError, match=rf"unknown config key '{key}' in 'tasks\[0\]'"):
        validate_config({"tasks": [dict(task, **{key: 1})]})


@SETTINGS
@given(st.data())
def test_wrong_type_is_refused_naming_the_dotted_key(data) -> None:
    path = data.draw(st.sampled_from(sorted(LEAVES)), label="key")
    value = data.draw(wrong_values(LEAVES[path]), label="value")
    with pytest.raises(ConfigError) as info:
        validate_config(nest(path, value))
    assert f"config key '{dotted(path)}'" in str(info.value)


@SETTINGS
@given(st.data())
def test_base_child_overrides_one_key_and_inherits_the_rest(data) -> None:
    base = data.draw(overrides(), label="base")
    path = data.draw(st.sampled_from(sorted(set(LEAVES) - CROSS_CHECKED)), label="child key")
    value = data.draw(free_values(path), label="child value")
    base_raw: dict[str, Any] = {}
    for key, item in base.items():
        _merge(base_raw, nest(key, item))
    expected = validate_config(base_raw)
    put(expected, path, value)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "configs").mkdir()
        (Path(folder) / "base.yaml").write_text(yaml.safe_dump(base_raw, allow_unicode=True))
        child = Path(folder) / "configs" / "child.yaml"
        child.write_text(yaml.safe_dump({"_base_": "../base.yaml", **nest(path, value)}))
        assert load_config([child]) == expected


def test_base_chain_and_later_files_win(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("seed: 1\ntrain: {epochs: 5, lr: 0.1}\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\ntrain: {epochs: 7}\n")
    (tmp_path / "c.yaml").write_text("seed: 3\n")
    config = load_config([tmp_path / "b.yaml", tmp_path / "c.yaml"], {"train": {"lr": 0.2}})
    assert (config["seed"], config["train"]["epochs"], config["train"]["lr"]) == (3, 7, 0.2)
    assert "_base_" not in config
    assert config["model"] == DEFAULTS["model"]


@pytest.mark.parametrize(
    "files",
    [
        {"self.yaml": "_base_: self.yaml\nseed: 1\n"},
        {"a.yaml": "_base_: b.yaml\n", "b.yaml": "_base_: ./a.yaml\nseed: 2\n"},
    ],
)
def test_base_loop_is_a_clear_error(tmp_path: Path, capsys, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    first = tmp_path / next(iter(files))
    with pytest.raises(ConfigError, match=r"inherits from itself through `_base_`"):
        load_config([first])
    assert main(["train", "--config", str(first), "--phase", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reid train: error: config file ")
    assert "inherits from itself" in err and "Traceback" not in err


def test_missing_base_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("_base_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"nowhere\.yaml does not exist"):
        load_config([tmp_path / "child.yaml"])


def test_base_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("_base_: [a.yaml]\n")
    with pytest.raises(ConfigError, match=r"`_base_` must be the path of one YAML file"):
        load_config([tmp_path / "child.yaml"])


def test_comparison_methods_all_means_every_registered_method() -> None:
    from reid.strategies import comparison_methods

    config = load_config([Path("config/config.yaml")])
    config["comparison"]["methods"] = "all"
    assert validate_config(config)["comparison"]["methods"] == comparison_methods()
    assert load_config([Path("config/comparison.yaml")])["comparison"]["methods"] == (
        comparison_methods()
    )


def test_comparison_methods_other_string_is_named() -> None:
    config = load_config([Path("config/config.yaml")])
    config["comparison"]["methods"] = "everything"
    with pytest.raises(ConfigError, match=r"'comparison.methods' is 'everything'; expected 'all'"):
        validate_config(config)
