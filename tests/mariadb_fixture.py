"""A throw-away MariaDB server: the accounting database behind the test cluster's slurmdbd.

Debian's `mariadb-server` package (installed by `.ci/setup-services`) provides the binaries. The
server listens on 127.0.0.1 on a free port and on a socket in its own folder; as root it runs as
the package's `mysql` user. One account, `slurm` (password `slurm`, from 127.0.0.1 only), may
create the accounting database.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 120


@dataclass(frozen=True)
class Database:
    """Where slurmdbd finds the server (StorageHost/Port/User/Pass)."""

    host: str
    port: int
    user: str
    password: str


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if found:
            return found
    pytest.fail(
        f"MariaDB: none of {', '.join(names)} found: run .ci/setup-services (it installs "
        "Debian's `mariadb-server` package)",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _owner() -> pwd.struct_passwd:
    """The server's user: `mysql` when we are root (mariadbd refuses root), else ourselves."""
    if os.geteuid() == 0:
        try:
            return pwd.getpwnam("mysql")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "mysql"], check=True)
            return pwd.getpwnam("mysql")
    return pwd.getpwuid(os.geteuid())


def _run(argv: list[str], what: str, **kw) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT, **kw)
    if proc.returncode != 0:
        pytest.fail(f"MariaDB {what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@contextmanager
def mariadb_server(folder: Path) -> Iterator[Database]:
    """Initialise a data folder under `folder`, start the server, yield it, stop it."""
    owner = _owner()
    folder.mkdir()
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, sock, log = folder / "data", folder / "mysqld.sock", folder / "mysqld.log"
    _run(
        [_binary("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={data}"]
        + [f"--user={owner.pw_name}", "--auth-root-authentication-method=normal"]
        + ["--skip-test-db"],
        "mariadb-install-db",
        cwd=folder,
    )
    port = _free_port()
    argv = [_binary("mariadbd", "mysqld"), "--no-defaults", f"--datadir={data}"]
    argv += [f"--socket={sock}", f"--port={port}", "--bind-address=127.0.0.1"]
    argv += [f"--user={owner.pw_name}", "--skip-log-bin", "--innodb-buffer-pool-size=64M"]
    argv += [f"--log-error={log}", f"--pid-file={folder / 'mysqld.pid'}"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server, sock, log)
        sql = (
            "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm'; "
            "GRANT ALL ON *.* TO 'slurm'@'127.0.0.1';"
        )
        client = _binary("mariadb", "mysql")
        _run([client, "--no-defaults", f"--socket={sock}", "-u", "root", "-e", sql], "grant")
        yield Database("127.0.0.1", port, "slurm", "slurm")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def _wait_ready(server: subprocess.Popen, sock: Path, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if sock.exists() and "ready for connections" in _text(log):
            return
        if server.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"MariaDB did not start (exit {server.poll()}):\n{_text(log)[-3000:]}")


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""
