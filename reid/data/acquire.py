"""Getting a dataset onto disk: download with md5 check, safe archive extraction, preparation."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reid import io
from reid.data.datasets import get_spec, resolve_root
from reid.errors import AcquisitionError, DatasetError

CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownArchive:
    """The archive a dataset is distributed as, and whether anyone may still download it."""

    file_name: str
    md5: str | None
    note: str


KNOWN_ARCHIVES: dict[str, KnownArchive] = {
    "market1501": KnownArchive(
        "Market-1501-v15.09.15.zip",
        "65005ab7d12ec1c44de4eeafe813e68a",
        "download it from the dataset's project page (or pass its URL)",
    ),
    "dukemtmcreid": KnownArchive(
        "DukeMTMC-reID.zip",
        "2f93496f9b516d1ee5ef51c1d5e7d601",
        "DukeMTMC-reID was withdrawn by its authors in 2019 and has no download: "
        "you must bring your own copy",
    ),
    "msmt17": KnownArchive(
        "MSMT17_V1.tar.gz",
        None,
        "MSMT17 has no public download (it is given out on request by its authors): "
        "you must bring your own copy",
    ),
    "cuhk03np": KnownArchive(
        "cuhk03-np.zip",
        None,
        "CUHK03-NP has no stable public URL: you must bring your own copy",
    ),
}


def md5sum(path: Path) -> str:
    """Hex md5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(total: int | None, name: str):
    if not total:
        return None
    from tqdm import tqdm

    # disable=None: a bar on a terminal only, not in log files or captured stderr
    return tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False, disable=None)


def download(url: str, dest: Path, md5: str | None) -> Path:
    """Stream `url` (file://, http(s)://) to a temp file beside `dest`; rename when complete."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.md5()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as response:
            length = response.headers.get("Content-Length")
            bar = _progress(int(length) if length else None, dest.name)
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.close()
            out.flush()
            os.fsync(out.fileno())
        io.apply_umask(tmp)
        actual = digest.hexdigest()
        if md5 is not None and actual != md5.lower():
            raise AcquisitionError(
                f"md5 mismatch for {url}: expected {md5}, got {actual}; the download is corrupt "
                "or is another file: removed it, try again or check the URL"
            )
        os.replace(tmp, dest)
    except OSError as exc:  # urllib.error.URLError is an OSError
        raise AcquisitionError(f"could not download {url} to {dest}: {exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _check_member(name: str, archive: Path, dest: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise AcquisitionError(f"{archive}: refusing member {name!r} with an absolute path")
    if ".." in path.parts:
        raise AcquisitionError(f"{archive}: refusing member {name!r} with a '..' component")
    return path


def _link_escapes(member_path: PurePosixPath, target: str) -> bool:
    if target.startswith(("/", "\\")):
        return True
    depth = len(member_path.parts) - 1  # the link's folder, relative to dest
    for part in PurePosixPath(target.replace("\\", "/")).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def _check_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = _check_member(info.filename, archive, dest)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                target = zf.read(info).decode("utf-8", "replace")
                if _link_escapes(path, target):
                    raise AcquisitionError(
                        f"{archive}: refusing link {info.filename!r} escaping {dest}"
                    )


def _check_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            path = _check_member(member.name, archive, dest)
            if member.issym() and _link_escapes(path, member.linkname):
                raise AcquisitionError(f"{archive}: refusing link {member.name!r} escaping {dest}")
            if member.islnk():
                _check_member(member.linkname, archive, dest)
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                raise AcquisitionError(
                    f"{archive}: refusing member {member.name!r}, a device or fifo"
                )


def _is_tar(archive: Path) -> bool:
    return archive.name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"))


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract a .zip or .tar(.gz) into `dest` after checking every member; refuse escapes."""
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise AcquisitionError(f"archive {archive} does not exist")
    try:
        if zipfile.is_zipfile(archive) and not _is_tar(archive):
            _check_zip(archive, dest)
        elif _is_tar(archive) or tarfile.is_tarfile(archive):
            _check_tar(archive, dest)
        else:
            raise AcquisitionError(f"{archive} is neither a zip nor a tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise AcquisitionError(f"{archive} is corrupt ({exc}); download it again") from exc
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    io.apply_umask(staging, directory=True)
    try:
        if zipfile.is_zipfile(archive) and not _is_tar(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="data")
        if dest.exists() and not any(dest.iterdir()):
            dest.rmdir()
        if dest.exists():
            for item in staging.iterdir():
                os.replace(item, dest / item.name)
        else:
            os.rename(staging, dest)
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise AcquisitionError(f"could not extract {archive} into {dest}: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def _prepared(name: str, dest: Path) -> Path | None:
    try:
        return resolve_root(name, dest) if dest.exists() else None
    except DatasetError:
        return None


def _from_archive(name: str, archive: Path, dest: Path, md5: str | None) -> Path:
    if md5 is not None:
        actual = md5sum(archive)
        if actual != md5.lower():
            raise AcquisitionError(
                f"md5 mismatch for {archive}: expected {md5}, got {actual}; the archive is "
                "corrupt or another version: replace it"
            )
    safe_extract(archive, dest)
    return resolve_root(name, dest)


def _md5_for(file_name: str, md5: str | None, known: KnownArchive | None) -> str | None:
    """The md5 to check: the one given, else the known one when the file name is the known one."""
    if md5 is not None:
        return md5
    return known.md5 if known is not None and file_name == known.file_name else None


def prepare_dataset(
    name: str,
    dest: Path,
    url: str | None = None,
    md5: str | None = None,
    archive: Path | None = None,
    folder: Path | None = None,
) -> Path:
    """Make dataset `name` ready under `dest`; return the root `load_dataset` accepts.

    Tried in order: an already prepared `dest`, a user `folder`, a user-placed archive
    (`archive`, else `dest/<known file name>`), a download from `url`.
    """
    spec = get_spec(name)
    dest = Path(dest)
    known = KNOWN_ARCHIVES.get(name)
    ready = _prepared(name, dest)
    if ready is not None:
        return ready
    if folder is not None:
        return resolve_root(name, Path(folder))
    file_name = known.file_name if known else f"{name}.zip"
    placed = Path(archive) if archive is not None else dest / file_name
    if archive is not None and not placed.is_file() and url is None:
        raise AcquisitionError(
            f"{spec.title} is not prepared: the configured archive {placed} does not exist; "
            f"put {file_name}{_checksum(md5, known)} there (or set the task's folder or url) "
            f"and run again; {known.note if known else 'bring your own copy'}"
        )
    if placed.is_file():
        return _from_archive(name, placed, dest, _md5_for(placed.name, md5, known))
    if url is not None:
        target = dest / (Path(url.split("?")[0]).name or file_name)
        download(url, target, _md5_for(target.name, md5, known))
        root = _from_archive(name, target, dest, None)
        target.unlink()
        return root
    raise AcquisitionError(
        f"{spec.title} is not prepared: put the archive {file_name}{_checksum(md5, known)} at "
        f"{dest / file_name} and run again, or pass a folder or URL; "
        f"{known.note if known else 'bring your own copy'}"
    )


def _checksum(md5: str | None, known) -> str:
    expected = md5 or (known.md5 if known else None)
    return f" (md5 {expected})" if expected else ""
