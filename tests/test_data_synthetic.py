"""Generated domains: real layouts, promised split properties, determinism, camera styles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from reid.data import load_dataset
from reid.data.naming import parse_dukemtmcreid, parse_market1501
from reid.data.synthetic import (
    MARKER,
    NUM_CAMERAS,
    STYLE_ADAPTER,
    generate_domain,
    render,
    sample_cameras,
    sample_identities,
)
from reid.errors import ConfigError, DatasetError

SIZES = dict(num_train_ids=5, num_test_ids=4, images_per_id=5, height=32, width=16)
EXTRA = {
    "market": dict(num_distractors=3, num_junk=2),
    "duke": dict(num_distractors=2),
    "msmt": dict(num_distractors=2),
}


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    base = tmp_path_factory.mktemp("domains")
    return {s: generate_domain(base / s, s, **SIZES, **EXTRA[s], seed=3) for s in EXTRA}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("style", list(EXTRA))
def test_domain_loads_with_the_real_adapter(domains, style):
    splits = load_dataset(STYLE_ADAPTER[style], domains[style])
    assert splits.num_train_pids == 5
    assert len(splits.train) == 5 * 5
    assert sorted({s.pid for s in splits.train}) == list(range(5))
    assert len({s.pid for s in splits.query}) == 4
    assert all(1 <= s.camid <= NUM_CAMERAS[style] for s in splits.train + splits.gallery)
    assert len(splits.query) + len(splits.gallery) == 4 * 5 + EXTRA[style]["num_distractors"]


@pytest.mark.parametrize("style", list(EXTRA))
def test_each_query_is_one_per_camera_and_has_a_cross_camera_match(domains, style):
    splits = load_dataset(STYLE_ADAPTER[style], domains[style])
    keys = [(s.pid, s.camid) for s in splits.query]
    assert len(keys) == len(set(keys))
    gallery = {(s.pid, s.camid) for s in splits.gallery}
    for pid, cam in keys:
        assert any(g_pid == pid and g_cam != cam for g_pid, g_cam in gallery)
    # every camera an identity appears on in the gallery also has its query
    test_pids = {pid for pid, _ in keys}
    assert {k for k in gallery if k[0] in test_pids} <= set(keys)


@pytest.mark.parametrize("style", list(EXTRA))
def test_train_and_test_identities_are_disjoint(domains, style):
    marker = json.loads((domains[style] / MARKER).read_text())
    train, test = set(marker["train_identities"]), set(marker["test_identities"])
    assert train and test and not train & test
    people = marker["identities"]
    assert all(people[i] != people[j] for i in train for j in test)


@pytest.mark.parametrize(("style", "parser"), [("market", parse_market1501), ("duke", None)])
def test_file_name_pids_of_train_and_test_are_disjoint(domains, style, parser):
    parse = parser or parse_dukemtmcreid
    root = domains[style]
    pids = {
        folder: {parse(p.name)[0] for p in (root / folder).iterdir()}
        for folder in ("bounding_box_train", "query", "bounding_box_test")
    }
    assert not pids["bounding_box_train"] & (pids["query"] | pids["bounding_box_test"])


def test_market_has_junk_and_distractors(domains):
    root = domains["market"]
    names = [p.name for p in (root / "bounding_box_test").iterdir()]
    assert sum(n.startswith("-1_c") for n in names) == 2
    assert sum(n.startswith("0000_c") for n in names) == 3
    splits = load_dataset("market1501", root)
    assert splits.notes == {"junk_skipped": 2, "distractors": 3}
    assert sum(s.pid == 0 for s in splits.gallery) == 3


def test_duke_distractors_are_gallery_only_identities(domains):
    splits = load_dataset("dukemtmcreid", domains["duke"])
    extra = {s.pid for s in splits.gallery} - {s.pid for s in splits.query}
    assert len(extra) == 2 and 0 not in extra
    assert splits.notes["junk_skipped"] == 0


def test_msmt_layout(domains):
    root = domains["msmt"]
    for name in ("list_train.txt", "list_val.txt", "list_query.txt", "list_gallery.txt"):
        assert (root / name).is_file()
    assert (root / "train").is_dir() and (root / "test").is_dir()


def test_images_have_the_requested_size(domains):
    path = next((domains["duke"] / "query").iterdir())
    with Image.open(path) as image:
        assert image.size == (16, 32) and image.format == "JPEG"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, domains):
    again = generate_domain(tmp_path / "a", "market", **SIZES, **EXTRA["market"], seed=3)
    assert _files(again) == _files(domains["market"])
    other = generate_domain(tmp_path / "b", "market", **SIZES, **EXTRA["market"], seed=4)
    assert _files(other) != _files(domains["market"])


def test_identities_depend_on_style_but_share_the_distribution(domains):
    market = json.loads((domains["market"] / MARKER).read_text())["identities"]
    duke = json.loads((domains["duke"] / MARKER).read_text())["identities"]
    assert market != duke
    assert market[0].keys() == duke[0].keys()


def test_identities_have_distinct_signatures():
    people = sample_identities(np.random.default_rng(0), 200)
    keys = {(p.upper, p.lower, p.pattern, p.hair, p.long_hair, p.bag) for p in people}
    assert len(keys) == 200


def test_duke_cameras_are_cooler_and_darker_than_market_cameras():
    rng = np.random.default_rng(0)
    market = sample_cameras("market", rng)
    duke = sample_cameras("duke", rng)
    assert len(market) == 6 and len(duke) == 8 and len(sample_cameras("msmt", rng)) == 15
    mean = lambda cams, f: float(np.mean([f(c) for c in cams]))  # noqa: E731
    cast = lambda c: c.gain[2] - c.gain[0]  # noqa: E731
    assert mean(duke, cast) > mean(market, cast) + 0.3  # duke cameras are blue, market ones warm
    light = lambda c: c.brightness  # noqa: E731
    assert mean(duke, light) < mean(market, light) - 0.2  # and dimmer (a winter campus)
    assert mean(duke, lambda c: c.saturation) < mean(market, lambda c: c.saturation)
    assert mean(duke, lambda c: c.blur) > mean(market, lambda c: c.blur)
    assert all(c.channels == (0, 1, 2) for c in market)  # market sensors keep colours
    # every duke sensor rotates the channels the same way: hues consistent within duke
    assert {c.channels for c in duke} == {(2, 0, 1)}


def test_camera_changes_colours_of_the_same_person():
    person = sample_identities(np.random.default_rng(1), 1)[0]
    market = sample_cameras("market", np.random.default_rng(2))[0]
    duke = sample_cameras("duke", np.random.default_rng(2))[0]
    a = render(person, market, 64, 32, np.random.default_rng(5)).astype(float)
    b = render(person, duke, 64, 32, np.random.default_rng(5)).astype(float)
    mean_colour = lambda img: img.reshape(-1, 3).mean(axis=0)  # noqa: E731
    assert np.abs(mean_colour(b) - mean_colour(a)).max() > 20


def test_reuses_a_complete_domain_and_regenerates_on_new_parameters(tmp_path):
    out = tmp_path / "d"
    generate_domain(out, "duke", **SIZES, seed=1)
    marker = out / MARKER
    stamp = marker.stat().st_mtime_ns
    generate_domain(out, "duke", **SIZES, seed=1)
    assert marker.stat().st_mtime_ns == stamp
    generate_domain(out, "duke", **SIZES, seed=2)
    assert json.loads(marker.read_text())["params"]["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no staging or trash left


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not a generated domain"):
        generate_domain(tmp_path / "mine", "market", **SIZES)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("style", "changes", "key"),
    [
        ("duke", {"num_junk": 1}, "num_junk"),
        ("market", {"images_per_id": 3}, "images_per_id"),
        ("mars", {}, "style"),
    ],
)
def test_bad_parameters(tmp_path, style, changes, key):
    with pytest.raises(ConfigError, match=key):
        generate_domain(tmp_path / "x", style, **(SIZES | changes))
    assert not (tmp_path / "x").exists()


@pytest.fixture
def toy_style():
    """Register a style `toy` writing Market-1501's layout; unregistered after the test."""
    from reid.data import synthetic

    tables = (synthetic.STYLE_ADAPTER, synthetic.STYLE_CODE, synthetic.NUM_CAMERAS)
    synthetic.register_style("toy", "market1501", 41, 4)
    yield "toy"
    for table in (*tables, synthetic.STYLES._items):  # noqa: SLF001
        table.pop("toy")


def test_a_new_style_writes_the_layout_and_names_of_its_adapter(tmp_path, toy_style):
    """The layout, file names, distractors and junk follow the style's adapter, not its name."""
    root = generate_domain(
        tmp_path / "toy", toy_style, **SIZES, num_distractors=3, num_junk=2, seed=3
    )
    assert {p.name for p in root.iterdir() if p.is_dir()} == {
        "bounding_box_train",
        "bounding_box_test",
        "query",
    }
    names = [p.name for p in (root / "bounding_box_test").glob("*.jpg")]
    assert all(parse_market1501(name) is not None for name in names)
    assert sum(name.startswith("0000_") for name in names) == 3  # Market's distractors
    assert sum(name.startswith("-1_") for name in names) == 2  # and junk
    splits = load_dataset("market1501", root)
    assert splits.num_train_pids == 5
    assert all(1 <= s.camid <= 4 for s in splits.train + splits.gallery)


def test_a_style_for_a_layout_this_module_does_not_write_is_refused():
    from reid.data.synthetic import register_style

    with pytest.raises(ValueError, match="reid.data.adapters.style.Style"):
        register_style("toy_viper", "viper", 43, 2)
