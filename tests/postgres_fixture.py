"""A throw-away PostgreSQL server for the tuning tests (RDB storage with several workers).

The server binaries come from Debian's `postgresql` package, which `.ci/setup-services`
installs. `initdb` refuses to run as root, so as root the cluster belongs to the unprivileged
`postgres` user (created here if missing). The server listens on 127.0.0.1 only, on a free port,
with trust authentication, and its socket lives in the cluster's temp folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

USER = "postgres"
DATABASE = "reid"


def server_bin_dir() -> Path:
    """Folder of initdb/pg_ctl/postgres (newest version installed); fails when missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if not found:
        on_path = shutil.which("initdb")
        if on_path:
            return Path(on_path).parent
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
            "or on PATH: run .ci/setup-services (it installs Debian's `postgresql` package)",
            pytrace=False,
        )
    return Path(found[-1]).parent


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parents[1].name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_user(argv: list[str]) -> list[str]:
    """Run `argv` as the unprivileged user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return argv
    _ensure_user()
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", USER, "--", *argv]
    return ["su", USER, "-s", "/bin/sh", "-c", " ".join(argv)]


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", USER], check=True)
        return pwd.getpwnam(USER)


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(_as_user(argv), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"PostgreSQL {what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster, create a database, yield its SQLAlchemy URL, stop the server."""
    bindir = server_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="reid-pg-"))
    root.chmod(0o755)
    data, sockets, logfile = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        entry = _ensure_user()
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    started = False
    try:
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"],
            "initdb",
        )
        _run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options, "-w"]
            + ["-t", "60", "start"],
            "start",
        )
        started = True
        createdb = bindir / "createdb"
        _run([str(createdb), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE], "createdb")
        yield f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            _stop(bindir, data)
        shutil.rmtree(root, ignore_errors=True)


def _stop(bindir: Path, data: Path) -> None:
    """Immediate shutdown (a throw-away cluster): SIGQUIT to the postmaster, wait for it."""
    try:
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        argv = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_user(argv), capture_output=True, timeout=120)
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
