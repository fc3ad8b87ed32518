"""Download with md5, safe extraction and the prepare flow, all on local file:// URLs."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile

import pytest
from data_fixtures import make_market, tar_with, zip_folder

from reid.data import load_dataset
from reid.data.acquire import KNOWN_ARCHIVES, download, md5sum, prepare_dataset, safe_extract
from reid.errors import AcquisitionError


@pytest.fixture
def market_zip(tmp_path):
    """A zip of a tiny Market tree under its canonical folder name, and its md5."""
    tree = make_market(tmp_path / "src")
    archive = zip_folder(tree, tmp_path / "tiny-market.zip", "Market-1501-v15.09.15")
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_md5sum(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    assert md5sum(path) == "5d41402abc4b2a76b9719d911017c592"


def test_known_archives():
    assert KNOWN_ARCHIVES["market1501"].file_name == "Market-1501-v15.09.15.zip"
    assert KNOWN_ARCHIVES["market1501"].md5 == "65005ab7d12ec1c44de4eeafe813e68a"
    assert KNOWN_ARCHIVES["dukemtmcreid"].md5 == "2f93496f9b516d1ee5ef51c1d5e7d601"


def test_download_file_url(tmp_path, market_zip):
    archive, md5 = market_zip
    dest = download(archive.as_uri(), tmp_path / "dl" / "m.zip", md5)
    assert dest.read_bytes() == archive.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["m.zip"]


def test_download_md5_mismatch_removes_partial_file(tmp_path, market_zip):
    archive, md5 = market_zip
    wrong = "0" * 32
    with pytest.raises(AcquisitionError) as info:
        download(archive.as_uri(), tmp_path / "dl" / "m.zip", wrong)
    assert wrong in str(info.value) and md5 in str(info.value)
    assert list((tmp_path / "dl").iterdir()) == []


def test_download_missing_url(tmp_path):
    with pytest.raises(AcquisitionError, match="could not download"):
        download((tmp_path / "absent.zip").as_uri(), tmp_path / "dl" / "m.zip", None)
    assert list((tmp_path / "dl").iterdir()) == []


def test_safe_extract_zip(tmp_path, market_zip):
    archive, _ = market_zip
    dest = safe_extract(archive, tmp_path / "out")
    assert (dest / "Market-1501-v15.09.15" / "query" / "0001_c1s1_001051_00.jpg").is_file()


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil-abs.txt", "ok/../../evil.txt"])
def test_zip_traversal_is_refused_before_writing(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("good/first.txt", "fine")
        zf.writestr(member, "evil")
    dest = tmp_path / "box" / "out"
    dest.parent.mkdir()
    with pytest.raises(AcquisitionError, match="refusing member"):
        safe_extract(archive, dest)
    assert not dest.exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "box" / "evil.txt").exists()
    assert [p.name for p in (tmp_path / "box").iterdir()] == []


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "what"),
    [
        ([_file("a/ok.txt"), _file("../evil.txt")], "refusing member"),
        ([_file("a/ok.txt"), _file("/abs/evil.txt")], "refusing member"),
        ([_file("a/ok.txt"), _link("a/link", "../../outside")], "refusing link"),
        ([_file("a/ok.txt"), _link("a/link", "/etc/passwd")], "refusing link"),
        ([_file("a/ok.txt"), _link("a/hard", "../../evil.txt", hard=True)], "refusing member"),
    ],
)
def test_tar_traversal_and_escaping_links_are_refused(tmp_path, members, what):
    archive = tar_with(tmp_path / "bad.tar.gz", members)
    dest = tmp_path / "box" / "out"
    dest.parent.mkdir()
    with pytest.raises(AcquisitionError, match=what):
        safe_extract(archive, dest)
    assert not dest.exists() and [p.name for p in (tmp_path / "box").iterdir()] == []


def test_tar_with_inner_link_is_extracted(tmp_path):
    archive = tar_with(tmp_path / "ok.tar.gz", [_file("a/b/ok.txt"), _link("a/b/l", "ok.txt")])
    dest = safe_extract(archive, tmp_path / "out")
    assert (dest / "a" / "b" / "ok.txt").read_bytes() == b"x"


def test_prepare_from_url_then_reuse(tmp_path, market_zip):
    archive, md5 = market_zip
    dest = tmp_path / "datasets" / "market1501"
    root = prepare_dataset("market1501", dest, url=archive.as_uri(), md5=md5)
    assert root == dest / "Market-1501-v15.09.15"
    assert len(load_dataset("market1501", root).train) == 6
    assert [p.name for p in dest.iterdir()] == ["Market-1501-v15.09.15"]  # archive removed
    archive.unlink()  # the prepared folder is used, nothing is downloaded again
    assert prepare_dataset("market1501", dest, url=archive.as_uri()) == root


def test_prepare_from_user_archive_and_folder(tmp_path, market_zip):
    archive, md5 = market_zip
    root = prepare_dataset("market1501", tmp_path / "a", archive=archive, md5=md5)
    assert load_dataset("market1501", root).notes["junk_skipped"] == 2
    folder_root = prepare_dataset("market1501", tmp_path / "b", folder=root.parent)
    assert folder_root == root


def test_prepare_checks_md5_of_user_archive(tmp_path, market_zip):
    archive, _ = market_zip
    with pytest.raises(AcquisitionError, match="expected 1234"):
        prepare_dataset("market1501", tmp_path / "a", archive=archive, md5="1234")
    assert not (tmp_path / "a").exists()


def test_archive_placed_under_its_known_name_is_checked_against_the_known_md5(tmp_path, market_zip):
    archive, md5 = market_zip
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "Market-1501-v15.09.15.zip").write_bytes(archive.read_bytes())
    with pytest.raises(AcquisitionError) as info:
        prepare_dataset("market1501", dest)
    assert "65005ab7d12ec1c44de4eeafe813e68a" in str(info.value) and md5 in str(info.value)


def test_nothing_available_says_where_to_put_the_archive(tmp_path):
    with pytest.raises(AcquisitionError) as info:
        prepare_dataset("market1501", tmp_path / "d")
    message = str(info.value)
    assert str(tmp_path / "d" / "Market-1501-v15.09.15.zip") in message
    assert "65005ab7d12ec1c44de4eeafe813e68a" in message


def test_duke_is_withdrawn(tmp_path):
    with pytest.raises(AcquisitionError) as info:
        prepare_dataset("dukemtmcreid", tmp_path / "d")
    message = str(info.value)
    assert "withdrawn" in message and "DukeMTMC-reID.zip" in message
    assert "2f93496f9b516d1ee5ef51c1d5e7d601" in message
