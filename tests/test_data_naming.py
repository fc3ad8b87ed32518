"""File-name parsers: examples, round-trips and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reid.data import naming
from reid.errors import DatasetError

PARSERS = [
    naming.parse_market1501,
    naming.parse_dukemtmcreid,
    naming.parse_msmt17,
    naming.parse_cuhk03np,
]


@pytest.mark.parametrize(
    ("parser", "name", "expected"),
    [
        (naming.parse_market1501, "0002_c1s1_000451_03.jpg", (2, 1)),
        (naming.parse_market1501, "-1_c3s2_000121_03.jpg", (-1, 3)),
        (naming.parse_market1501, "0000_c6s4_002202_01.jpg", (0, 6)),
        (naming.parse_dukemtmcreid, "0005_c2_f0046985.jpg", (5, 2)),
        (naming.parse_msmt17, "0012/0012_003_15_0303morning_0015_0.jpg 12", (12, 15)),
        (naming.parse_cuhk03np, "1367_c2_10.png", (1367, 2)),
    ],
)
def test_known_names(parser, name, expected):
    assert parser(name) == expected


def test_msmt_line_gives_path_and_label():
    entry = naming.parse_msmt17_line("0007/0007_011_04_0113noon_0815_1.jpg 7\n")
    assert entry == naming.MsmtEntry("0007/0007_011_04_0113noon_0815_1.jpg", 7, 4)


@pytest.mark.parametrize(
    ("parser", "name"),
    [
        (naming.parse_market1501, "0002_c1_f0046985.jpg"),  # a Duke name
        (naming.parse_market1501, "0002_c1s1_000451_03.png"),
        (naming.parse_dukemtmcreid, "0002_c1s1_000451_03.jpg"),  # a Market name
        (naming.parse_msmt17, "0001/0002_000_01_0303morning_0015_0.jpg 1"),  # folder != pid
        (naming.parse_msmt17, "0001/0001_000_01_0303morning_0015_0.jpg"),  # no label
        (naming.parse_cuhk03np, "0001_c1s1_000451_03.jpg"),
    ],
)
def test_wrong_names_raise_naming_the_file_and_pattern(parser, name):
    with pytest.raises(DatasetError) as info:
        parser(name, "/data/x")
    message = str(info.value)
    assert name.strip() in message and "/data/x" in message and "pattern" in message


pids = st.integers(min_value=0, max_value=9999)


@given(
    pid=st.one_of(st.just(-1), pids),
    cam=st.integers(1, 9),
    seq=st.integers(1, 9),
    frame=st.integers(0, 999999),
    box=st.integers(0, 99),
)
def test_market_round_trip(pid, cam, seq, frame, box):
    assert naming.parse_market1501(naming.format_market1501(pid, cam, seq, frame, box)) == (
        pid,
        cam,
    )


@given(pid=pids, cam=st.integers(1, 8), frame=st.integers(0, 9999999))
def test_duke_round_trip(pid, cam, frame):
    assert naming.parse_dukemtmcreid(naming.format_dukemtmcreid(pid, cam, frame)) == (pid, cam)


@given(
    pid=pids,
    index=st.integers(0, 999),
    cam=st.integers(1, 15),
    tag=st.from_regex(r"[0-9]{4}(morning|noon|afternoon)", fullmatch=True),
    frame=st.integers(0, 9999),
    box=st.integers(0, 9),
)
def test_msmt_round_trip(pid, index, cam, tag, frame, box):
    line = naming.format_msmt17_line(pid, index, cam, tag, frame, box)
    entry = naming.parse_msmt17_line(line)
    assert (entry.pid, entry.camid) == (pid, cam)
    assert entry.relpath == line.split()[0]


@given(pid=pids, cam=st.integers(1, 2), index=st.integers(0, 99))
def test_cuhk_round_trip(pid, cam, index):
    assert naming.parse_cuhk03np(naming.format_cuhk03np(pid, cam, index)) == (pid, cam)


@given(name=st.text(alphabet=st.characters(blacklist_characters="."), max_size=40))
def test_garbage_without_extension_is_refused_by_every_parser(name):
    for parser in PARSERS:
        with pytest.raises(DatasetError):
            parser(name)


@given(head=st.text(alphabet="abcxyz-_ ", max_size=20))
def test_names_without_pid_and_camera_are_refused(head):
    for suffix in (".jpg", ".png"):
        for parser in PARSERS:
            with pytest.raises(DatasetError):
                parser(head + suffix)
