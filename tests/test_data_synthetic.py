"""Generated domains: real layouts, promised split properties, determinism, shared clothing,
view-dependent cues, per-camera shifts and domain looks (nothing learned is asserted)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from reid.data import load_dataset
from reid.data.generator.cameras import Camera, sample_cameras
from reid.data.generator.canvas import Canvas
from reid.data.generator.figure import Pose, draw_person
from reid.data.generator.people import CARRY, sample_identities
from reid.data.generator.render import photograph, render
from reid.data.naming import parse_dukemtmcreid, parse_market1501
from reid.data.synthetic import MARKER, STYLES, generate_domain, get_style
from reid.errors import ConfigError, DatasetError

SIZES = dict(num_train_ids=5, num_test_ids=4, images_per_id=5, height=32, width=16)
EXTRA = {
    "market": dict(num_distractors=3, num_junk=2),
    "duke": dict(num_distractors=2),
    "msmt": dict(num_distractors=2),
}
CAMERAS = {"market": 6, "duke": 8, "msmt": 15}


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    base = tmp_path_factory.mktemp("domains")
    return {s: generate_domain(base / s, s, **SIZES, **EXTRA[s], seed=3) for s in EXTRA}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _marker(root):
    return json.loads((root / MARKER).read_text())


@pytest.mark.parametrize("style", list(EXTRA))
def test_domain_loads_with_the_real_adapter(domains, style):
    splits = load_dataset(STYLES[style], domains[style])
    assert splits.num_train_pids == 5
    assert len(splits.train) == 5 * 5
    assert sorted({s.pid for s in splits.train}) == list(range(5))
    assert len({s.pid for s in splits.query}) == 4
    assert all(1 <= s.camid <= CAMERAS[style] for s in splits.train + splits.gallery)
    assert len(splits.query) + len(splits.gallery) == 4 * 5 + EXTRA[style]["num_distractors"]


@pytest.mark.parametrize("style", list(EXTRA))
def test_each_query_is_one_per_camera_and_has_a_cross_camera_match(domains, style):
    splits = load_dataset(STYLES[style], domains[style])
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
    marker = _marker(domains[style])
    train, test = set(marker["train_identities"]), set(marker["test_identities"])
    assert train and test and not train & test
    people = marker["identities"]
    assert all(people[i] != people[j] for i in train for j in test)


@pytest.mark.parametrize(
    ("style", "parse"), [("market", parse_market1501), ("duke", parse_dukemtmcreid)]
)
def test_file_name_pids_of_train_and_test_are_disjoint(domains, style, parse):
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
    listed = sum(len((root / f"list_{n}.txt").read_text().splitlines()) for n in ("train", "val"))
    assert listed == 5 * 5


def test_images_have_the_requested_size(domains):
    path = next((domains["duke"] / "query").iterdir())
    with Image.open(path) as image:
        assert image.size == (16, 32) and image.format == "JPEG"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, domains):
    again = generate_domain(tmp_path / "a", "market", **SIZES, **EXTRA["market"], seed=3)
    assert _files(again) == _files(domains["market"])
    other = generate_domain(tmp_path / "b", "market", **SIZES, **EXTRA["market"], seed=4)
    assert _files(other) != _files(domains["market"])


def test_identities_depend_on_style_but_share_the_build(domains):
    market = _marker(domains["market"])["identities"]
    duke = _marker(domains["duke"])["identities"]
    assert market != duke
    assert market[0].keys() == duke[0].keys()


def test_people_share_colours_patterns_and_bags_but_not_their_combination():
    people = sample_identities(np.random.default_rng(0), 200, get_style("market").wardrobe)
    signatures = [p.signature for p in people]
    assert len(set(signatures)) == 200  # no two people look alike in every visible choice
    tops = Counter(s[0] for s in signatures)
    assert len(tops) <= 12 and max(tops.values()) >= 200 // 12  # a top colour is never unique
    assert Counter(p.pattern for p in people).most_common(1)[0][1] >= 100
    carried = Counter(CARRY[p.carry] for p in people)
    assert carried["backpack"] >= 20 and carried["none"] >= 50


def test_wardrobes_differ_between_domains():
    rng = np.random.default_rng(0)
    market = sample_identities(rng, 300, get_style("market").wardrobe)
    duke = sample_identities(rng, 300, get_style("duke").wardrobe)
    jacket = lambda people: sum(p.jacket is not None for p in people)  # noqa: E731
    shorts = lambda people: sum(p.legwear == 1 for p in people)  # noqa: E731
    assert jacket(duke) > 2 * jacket(market) and shorts(market) > 5 * shorts(duke)
    brightness = lambda people: np.mean([np.mean(p.top) for p in people])  # noqa: E731
    assert brightness(duke) < brightness(market) - 0.05  # winter clothes are darker


def _plain_camera(**changes) -> Camera:
    cam = sample_cameras(np.random.default_rng(0), get_style("market").look, 1, difficulty=0.0)[0]
    plain = dict(props=(), occlusion=0.0, crowd=0.0, noise=0.0, blur=0.0, resolution=1.0)
    plain |= dict(gain=(1.0, 1.0, 1.0), brightness=1.0, gamma=1.0, saturation=1.0, gradient=0.0)
    return dataclasses.replace(cam, **(plain | changes))


def test_a_backpack_shows_whole_from_behind_and_as_straps_from_the_front():
    wardrobe = dataclasses.replace(get_style("market").wardrobe, backpack=1.0)
    who = sample_identities(np.random.default_rng(4), 1, wardrobe)[0]
    who = dataclasses.replace(who, carry_colour=(1.0, 0.0, 1.0), top=(0.2, 0.2, 0.2), jacket=None)
    pixels = {}
    for view in ("front", "back"):
        canvas = Canvas(64, 32)
        draw_person(canvas, who, Pose(view, 16.0, 8.0, 62.0, 1.0, 0.0, 0.0))
        pixels[view] = int(np.all(canvas.rgb == (1.0, 0.0, 1.0), axis=2).sum())
    assert pixels["front"] > 0 and pixels["back"] > 3 * pixels["front"]


def test_a_cameras_photometry_shifts_the_same_scene():
    scene = np.random.default_rng(1).uniform(0.2, 0.8, size=(32, 16, 3)).astype(np.float32)
    plain = photograph(scene, _plain_camera(), np.random.default_rng(0)).astype(float)
    warm = photograph(scene, _plain_camera(gain=(1.3, 1.0, 0.7)), np.random.default_rng(0))
    dark = photograph(scene, _plain_camera(brightness=0.5), np.random.default_rng(0))
    mean = lambda image: image.reshape(-1, 3).mean(axis=0)  # noqa: E731
    assert mean(warm)[0] > mean(plain)[0] + 20 and mean(warm)[2] < mean(plain)[2] - 20
    assert mean(dark).sum() < 0.7 * mean(plain).sum()


def test_cameras_of_a_domain_differ_and_difficulty_zero_makes_them_alike():
    look = get_style("msmt").look
    cams = sample_cameras(np.random.default_rng(0), look, 15)
    assert len({c.gain for c in cams}) == 15 and np.ptp([c.brightness for c in cams]) > 0.3
    assert sum(len(c.props) for c in cams) > 15 and max(max(c.views) for c in cams) > 0.3
    calm = sample_cameras(np.random.default_rng(0), look, 15, difficulty=0.0)
    assert {c.gain for c in calm} == {look.cast}
    assert {(c.brightness, c.occlusion, c.crowd, c.views) for c in calm} == {
        (sum(look.brightness) / 2, 0.0, 0.0, (0.25, 0.25, 0.25, 0.25))
    }
    assert all(c.props == () for c in calm)


def test_the_same_person_looks_different_in_two_cameras_of_a_domain():
    style = get_style("msmt")
    who = style.people(np.random.default_rng(1), 1)[0]
    cams = style.cameras(np.random.default_rng(2))
    images = [render(who, cam, 64, 32, np.random.default_rng(5)).astype(float) for cam in cams]
    means = np.array([image.reshape(-1, 3).mean(axis=0) for image in images])
    assert np.ptp(means, axis=0).max() > 40  # mean colour over 15 cameras spans > 40 levels


def test_domain_looks_differ_like_datasets():
    def mean_of(style, field):
        cams = get_style(style).cameras(np.random.default_rng(0))
        return float(np.mean([getattr(c, field) for c in cams]))

    assert mean_of("duke", "brightness") < mean_of("market", "brightness") - 0.3
    assert mean_of("grid", "resolution") < mean_of("duke", "resolution") - 0.3
    assert mean_of("duke", "scale") > mean_of("market", "scale") + 0.05  # tighter crops
    assert get_style("market").look.scene != get_style("duke").look.scene


def test_reuses_a_complete_domain_and_regenerates_on_new_parameters(tmp_path):
    out = tmp_path / "d"
    generate_domain(out, "duke", **SIZES, seed=1)
    marker = out / MARKER
    stamp = marker.stat().st_mtime_ns
    generate_domain(out, "duke", **SIZES, seed=1)
    assert marker.stat().st_mtime_ns == stamp
    generate_domain(out, "duke", **SIZES, seed=1, difficulty=0.5)
    assert json.loads(marker.read_text())["params"]["difficulty"] == 0.5
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
        ("market", {"difficulty": 3}, "difficulty"),
        ("mars", {}, "style"),
    ],
)
def test_bad_parameters(tmp_path, style, changes, key):
    with pytest.raises(ConfigError, match=key):
        generate_domain(tmp_path / "x", style, **(SIZES | changes))
    assert not (tmp_path / "x").exists()
