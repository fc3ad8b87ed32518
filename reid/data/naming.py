"""File-name parsers, one per dataset naming convention. Each returns (pid, camid)."""

from __future__ import annotations

import re
from typing import NamedTuple

from reid.errors import DatasetError

MARKET_PATTERN = "PPPP_cCsS_FFFFFF_BB.jpg (pid -1 = junk, 0000 = distractor)"
DUKE_PATTERN = "PPPP_cC_fFFFFFFF.jpg"
MSMT17_PATTERN = "PPPP/PPPP_RRR_CC_<date><time>_FFFF_B.jpg LABEL"
CUHK03NP_PATTERN = "PPPP_cC_<index>.png (or .jpg)"
CUHKSYSU_PATTERN = (
    "PPPPP_sN_IIIIIII_H.jpg (person, scene image, crop index, hard flag 0 or 1, or 0.0 or 1.0 as "
    "the LReID code writes it)"
)

_MARKET_RE = re.compile(r"^(-1|\d+)_c(\d)s(\d+)_(\d+)_(\d+)\.jpg$")
_DUKE_RE = re.compile(r"^(\d+)_c(\d+)_f(\d+)\.jpg$")
_MSMT_RE = re.compile(r"^(\d+)/(\d+)_(\d+)_(\d+)_([^/\s]+)\.jpg\s+(\d+)$")
_CUHK_RE = re.compile(r"^(\d+)_c(\d)_([^/\s]+)\.(png|jpg)$")
# The hard flag is an integer in our crops and a MATLAB double (`0.0` / `1.0`, str() of what
# scipy reads from the .mat) in the crops of the LReID code (AKA, LSTKC, DKP).
_CUHKSYSU_RE = re.compile(r"^(\d+)_s(\d+)_(\d+)_(\d+)(?:\.0+)?\.jpg$", re.IGNORECASE)


class MsmtEntry(NamedTuple):
    """One line of an MSMT17 list file: image path relative to the split folder, pid, camera."""

    relpath: str
    pid: int
    camid: int


def _fail(name: str, pattern: str, where: str | None) -> DatasetError:
    place = f" in {where}" if where else ""
    return DatasetError(
        f"file name {name!r}{place} does not follow the expected pattern {pattern}; "
        "remove or rename the stray file, or check that the dataset name matches the folder"
    )


def parse_market1501(name: str, where: str | None = None) -> tuple[int, int]:
    """Parse a Market-1501 name `PPPP_cCsS_FFFFFF_BB.jpg`; pid -1 is junk, 0 a distractor."""
    match = _MARKET_RE.match(name)
    if match is None:
        raise _fail(name, MARKET_PATTERN, where)
    return int(match.group(1)), int(match.group(2))


def parse_dukemtmcreid(name: str, where: str | None = None) -> tuple[int, int]:
    """Parse a DukeMTMC-reID name `PPPP_cC_fFFFFFFF.jpg`."""
    match = _DUKE_RE.match(name)
    if match is None:
        raise _fail(name, DUKE_PATTERN, where)
    return int(match.group(1)), int(match.group(2))


def parse_cuhk03np(name: str, where: str | None = None) -> tuple[int, int]:
    """Parse a CUHK03-NP name `PPPP_cC_<index>.png` (Market-like, cameras 1-2)."""
    match = _CUHK_RE.match(name)
    if match is None:
        raise _fail(name, CUHK03NP_PATTERN, where)
    return int(match.group(1)), int(match.group(2))


def parse_cuhksysu_crop(name: str, where: str | None = None) -> int:
    """The person id of a CUHK-SYSU re-ID crop `PPPPP_sN_IIIIIII_H.jpg` (H: 0, 1, 0.0 or 1.0)."""
    match = _CUHKSYSU_RE.match(name)
    if match is None:
        raise _fail(name, CUHKSYSU_PATTERN, where)
    return int(match.group(1))


def parse_msmt17_line(line: str, where: str | None = None) -> MsmtEntry:
    """Parse an MSMT17 list line `PPPP/PPPP_RRR_CC_..._.jpg LABEL`; camera is the 3rd field."""
    text = line.strip()
    match = _MSMT_RE.match(text)
    if match is None or int(match.group(1)) != int(match.group(2)):
        raise _fail(text, MSMT17_PATTERN, where)
    relpath = text.split()[0]
    return MsmtEntry(relpath, int(match.group(6)), int(match.group(4)))


def parse_msmt17(line: str, where: str | None = None) -> tuple[int, int]:
    """(pid, camid) of an MSMT17 list line."""
    entry = parse_msmt17_line(line, where)
    return entry.pid, entry.camid


def format_market1501(pid: int, cam: int, seq: int, frame: int, box: int) -> str:
    """Market-1501 file name for the given fields (pid -1 gives a junk name)."""
    head = "-1" if pid < 0 else f"{pid:04d}"
    return f"{head}_c{cam}s{seq}_{frame:06d}_{box:02d}.jpg"


def format_dukemtmcreid(pid: int, cam: int, frame: int) -> str:
    """DukeMTMC-reID file name for the given fields."""
    return f"{pid:04d}_c{cam}_f{frame:07d}.jpg"


def format_msmt17_line(pid: int, index: int, cam: int, tag: str, frame: int, box: int) -> str:
    """MSMT17 list line `PPPP/PPPP_RRR_CC_<tag>_FFFF_B.jpg PID`."""
    return f"{pid:04d}/{pid:04d}_{index:03d}_{cam:02d}_{tag}_{frame:04d}_{box}.jpg {pid}"


def format_cuhksysu_crop(pid: int, scene: str, index: int, hard: int | float) -> str:
    """CUHK-SYSU crop name; `hard` as given (int: our crops, float: the LReID code's `0.0`)."""
    return f"{pid:05d}_{scene}_{index:07d}_{hard}.jpg"


def format_cuhk03np(pid: int, cam: int, index: int) -> str:
    """CUHK03-NP file name for the given fields."""
    return f"{pid:04d}_c{cam}_{index}.png"
