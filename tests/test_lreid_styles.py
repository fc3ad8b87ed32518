"""Generated styles of the LReID datasets: each writes its real layout and loads through its
adapter with the shipped split; deterministic; bad parameters refused."""

from __future__ import annotations

import json
import re

import pytest
from lreid_fixtures import rows

from reid.data import load_dataset
from reid.data.adapters import LREID_SEEN, LREID_UNSEEN, style_adapters
from reid.data.synthetic import MARKER, generate_domain
from reid.errors import ConfigError

NEW = list(style_adapters())  # every registered style, the three first datasets' included
SIZES = dict(num_train_ids=3, num_test_ids=2, images_per_id=4, num_distractors=2)
SIZES |= dict(height=24, width=12, seed=5)
EXTRA = {".json", ".mat", ".txt"}  # extra files: marker, partitions, MSMT17 lists


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    base = tmp_path_factory.mktemp("lreid")
    return {s: generate_domain(base / s, s, **SIZES) for s in NEW}


def test_every_lreid_dataset_has_a_style():
    adapters = set(style_adapters().values())
    assert set(LREID_SEEN + LREID_UNSEEN) <= adapters
    assert {"market", "duke", "msmt", "cuhksysu", "cuhk03", "viper", "sensereid"} <= set(NEW)


@pytest.mark.parametrize("style", NEW)
def test_style_loads_through_its_adapter(domains, style):
    splits = load_dataset(style_adapters()[style], domains[style])
    train, query, gallery = rows(splits)
    if style == "viper":  # a prefix of pair indices: at least the asked ids on each side
        assert train[0] >= 3 and query[0] >= 2 and gallery[0] == query[0]
    else:
        assert train[0] == (0 if style == "sensereid" else 3)
        assert query[0] == 2 and gallery[0] >= 2
    marker = json.loads((domains[style] / MARKER).read_text())
    images = [p for p in domains[style].rglob("*") if p.is_file() and p.suffix not in EXTRA]
    assert marker["images"] == len(images)
    # every query identity has a match in the gallery from another camera
    gallery_keys = {(s.pid, s.camid) for s in splits.gallery}
    for sample in splits.query:
        assert any(p == sample.pid and c != sample.camid for p, c in gallery_keys)


def test_real_file_names_and_extra_files(domains):
    crops = [p.name for p in (domains["cuhksysu"] / "train").iterdir()]
    assert all(re.fullmatch(r"\d{5}_s\d+_\d{7}_[01]\.0\.jpg", n) for n in crops)  # LReID spelling
    assert all(p.suffix == ".bmp" for p in (domains["viper"] / "cam_a").iterdir())
    assert (domains["grid"] / "features_and_partitions.mat").is_file()
    assert all(p.name.startswith("person_") for p in (domains["prid"] / "cam_b").iterdir())
    assert {p.name for p in domains["cuhk02"].iterdir() if p.is_dir()} == {"P1", "P2", "P3", "P5"}


def test_grid_style_split_comes_from_its_partition_mat(domains):
    (domains["grid"] / "features_and_partitions.mat").rename(domains["grid"] / "moved.mat")
    try:
        with_shipped = load_dataset("grid", domains["grid"])
    finally:
        (domains["grid"] / "moved.mat").rename(domains["grid"] / "features_and_partitions.mat")
    with_mat = load_dataset("grid", domains["grid"])
    assert rows(with_mat) == rows(with_shipped)  # the .mat holds the shipped split's train ids


def test_cuhksysu_distractors_are_dropped_by_the_four_crop_rule(domains):
    crops = list((domains["cuhksysu"] / "train").iterdir())
    assert len(crops) == 3 * 4 + 2 * 2
    assert len(load_dataset("cuhksysu", domains["cuhksysu"]).train) == 3 * 4


def test_same_seed_same_bytes(tmp_path, domains):
    again = generate_domain(tmp_path / "prid", "prid", **SIZES)
    files = sorted(p.relative_to(again) for p in again.rglob("*.png"))
    assert files == sorted(p.relative_to(domains["prid"]) for p in domains["prid"].rglob("*.png"))
    assert all((again / f).read_bytes() == (domains["prid"] / f).read_bytes() for f in files)


@pytest.mark.parametrize(
    ("style", "change", "message"),
    [
        ("viper", {"num_junk": 1}, "num_junk"),
        ("sensereid", {"images_per_id": 9}, "at most 8"),
        ("cuhksysu", {"images_per_id": 3}, ">= 4"),
        ("nosuch", {}, "viper"),
    ],
)
def test_bad_parameters(tmp_path, style, change, message):
    with pytest.raises(ConfigError, match=message):
        generate_domain(tmp_path / "d", style, **(SIZES | change))


def test_config_schema_lists_every_dataset_and_style():
    from reid.config import load_schema
    from reid.data import DATASETS

    task = load_schema()["properties"]["tasks"]["items"]["properties"]
    assert sorted(task["dataset"]["enum"]) == sorted(DATASETS.names())
    assert sorted(task["synthetic"]["properties"]["style"]["enum"]) == sorted(style_adapters())
