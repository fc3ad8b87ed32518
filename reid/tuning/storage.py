"""Optuna storage from config: a journal file (one machine, several processes) or an RDB URL."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna

from reid.errors import ReidError

HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120


class StorageError(ReidError):
    """The Optuna storage cannot be opened or reached."""


def is_url(storage: str) -> bool:
    """Whether `storage` is an RDB URL rather than a journal file path."""
    return "://" in storage


def open_storage(storage: str) -> optuna.storages.BaseStorage:
    """Journal file backend for a path, RDBStorage (with heartbeats) for a URL."""
    if not is_url(storage):
        path = Path(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    try:
        return optuna.storages.RDBStorage(
            storage,
            engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=3),
        )
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises many kinds; one message for all
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(
            f"cannot reach the Optuna storage {_redact(storage)} (config key optuna.storage): "
            f"{reason}. Check that the database server runs and the URL, user and password are "
            "right, or use a journal file path such as results/optuna/journal.log"
        ) from None


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


@contextmanager
def study_lock(storage: str, study: str) -> Iterator[None]:
    """A lock held while enqueueing or recovering trials (one place at a time).

    For a journal file (one machine) it is a file lock beside the journal; for an RDB
    (many machines) Optuna's heartbeat and retry callback recover stale trials instead.
    """
    if is_url(storage):
        yield
        return
    lock_path = Path(storage).with_name(f".{study}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
