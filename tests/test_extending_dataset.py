"""docs/extending.md's dataset section, followed: its example module (run as written) registers
an adapter and its style in one call; then a real-named tree and a generated domain load, and a
config naming them validates. Also: every adapter module is found without a list, and style
seed codes are derived from the names and unique."""

from __future__ import annotations

import dataclasses
import pkgutil
import re
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

import reid.data.adapters as adapters_package
from reid.config import validate_config
from reid.data import DATASETS, load_dataset
from reid.data.generator import styles
from reid.data.synthetic import STYLE_SPECS, STYLES, generate_domain
from reid.errors import ConfigError

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
MODULE = "reid.data.adapters.toyreid"


def guide_module_source() -> str:
    """The first python block of the guide's dataset section."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## A dataset") :]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "docs/extending.md's dataset section lost its example"
    return block.group(1)


def _unregister(dataset: str, style: str) -> None:
    DATASETS._items.pop(dataset, None)  # noqa: SLF001
    STYLES._items.pop(style, None)  # noqa: SLF001
    spec = STYLE_SPECS._items.pop(style, None)  # noqa: SLF001
    if spec is not None:
        styles._CODES.pop(spec.code, None)  # noqa: SLF001


@pytest.fixture
def toyreid():
    """The guide's module, imported as reid.data.adapters.toyreid; unregistered afterwards."""
    module = types.ModuleType(MODULE)
    module.__file__ = "<docs/extending.md>"
    sys.modules[MODULE] = module
    try:
        exec(compile(guide_module_source(), module.__file__, "exec"), module.__dict__)  # noqa: S102
        yield module
    finally:
        sys.modules.pop(MODULE, None)
        _unregister("toyreid", "toy")


def test_the_guide_registers_adapter_and_style_in_one_call(toyreid):
    assert DATASETS.get("toyreid").title == "ToyReID"
    assert STYLES.get("toy") == "toyreid"
    assert STYLE_SPECS.get("toy").code == styles.style_code("toy")


def test_a_tree_in_the_real_naming_loads(toyreid, tmp_path):
    files = ["train/0001_c1_0001.png", "train/0001_c2_0002.png", "probe/0002_c1_0003.png"]
    files += ["gallery/0002_c3_0004.png", "gallery/0003_c2_0005.png"]
    for rel in files:
        (tmp_path / "ToyReID" / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 16), (90, 20, 40)).save(tmp_path / "ToyReID" / rel)
    splits = load_dataset("toyreid", tmp_path)
    assert [(r["ids"], r["images"]) for r in splits.summary_rows()] == [(1, 2), (1, 1), (2, 2)]
    assert sorted(s.camid for s in splits.gallery) == [2, 3]


def test_a_generated_domain_loads_with_the_adapter(toyreid, tmp_path):
    root = generate_domain(
        tmp_path / "toy",
        "toy",
        num_train_ids=3,
        num_test_ids=2,
        images_per_id=3,
        height=32,
        width=16,
    )
    splits = load_dataset("toyreid", root)
    assert splits.num_train_pids == 3 and len(splits.train) == 9
    assert len(splits.query) == 2 and len(splits.gallery) == 4
    for query in splits.query:  # every probe has a gallery image from another camera
        assert any(g.pid == query.pid and g.camid != query.camid for g in splits.gallery)


def test_a_config_naming_them_validates_and_a_mismatch_is_refused(toyreid):
    task = {
        "name": "toy",
        "dataset": "toyreid",
        "source": "synthetic",
        "synthetic": {"style": "toy"},
    }
    config = validate_config({"tasks": [task]})
    assert config["tasks"][0]["synthetic"]["style"] == "toy"
    wrong = dict(task, synthetic={"style": "market"})
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.synthetic\.style"):
        validate_config({"tasks": [wrong]})


def test_every_module_of_the_adapters_package_is_imported():
    found = {m.name for m in pkgutil.iter_modules(adapters_package.__path__)}
    assert {"market1501", "dukemtmcreid", "msmt17", "viper"} <= found
    assert all(f"reid.data.adapters.{name}" in sys.modules for name in found)


def test_every_dataset_module_registers_its_style_with_it():
    for name, adapter in STYLES.items():
        assert adapter in DATASETS
        assert STYLE_SPECS.get(name).adapter == adapter
    lreid = set(adapters_package.LREID_SEEN + adapters_package.LREID_UNSEEN)
    assert lreid <= set(dict(STYLES.items()).values())


def test_style_codes_are_derived_from_the_names_and_unique():
    codes = {name: STYLE_SPECS.get(name).code for name in STYLE_SPECS}
    assert codes == {name: styles.style_code(name) for name in codes}
    assert len(set(codes.values())) == len(codes)


def test_a_style_registered_twice_or_with_a_taken_code_is_refused(monkeypatch, toyreid):
    with pytest.raises(ValueError, match="'toy' is registered twice"):
        styles.add_style(STYLE_SPECS.get("toy"), "toyreid")
    clash = dict(styles._CODES)  # noqa: SLF001
    clash[styles.style_code("other")] = "market"
    monkeypatch.setattr(styles, "_CODES", clash)
    with pytest.raises(ValueError, match="'market' and 'other' derive the same seed code"):
        styles.add_style(dataclasses.replace(STYLE_SPECS.get("toy"), name="other"), "toyreid")
    assert "other" not in STYLES
