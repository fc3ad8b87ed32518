"""Optuna storage from config: a journal file (one machine, several processes) or an RDB URL."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import optuna

from reid.errors import ReidError
from reid.io import file_lock

HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120
# Tests shorten the RDB heartbeat so a killed worker's trial goes stale within seconds.
HEARTBEAT_ENV = "REID_OPTUNA_HEARTBEAT_SECONDS"
GRACE_ENV = "REID_OPTUNA_GRACE_SECONDS"
MAX_RETRY = 3


class StorageError(ReidError):
    """The Optuna storage cannot be opened or reached."""


class StudyMissingError(ReidError):
    """`reid tune work` or `aggregate` on a study that `reid tune create` has not made."""


def is_url(storage: str) -> bool:
    """Whether `storage` is an RDB URL rather than a journal file path."""
    return "://" in storage


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds; the grace exceeds the interval."""
    interval = _env_seconds(HEARTBEAT_ENV, HEARTBEAT_SECONDS)
    grace = _env_seconds(GRACE_ENV, GRACE_SECONDS)
    return interval, max(grace, interval + 1)


def _env_seconds(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        seconds = int(value)
    except ValueError:
        raise StorageError(
            f"environment variable {name}={value!r}: expected whole seconds"
        ) from None
    if seconds <= 0:
        raise StorageError(f"environment variable {name}={value!r}: expected a positive number")
    return seconds


def _retry_callback():
    callback = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if callback is None:  # Optuna < 4.9
        return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(MAX_RETRY)}
    return {"heartbeat_stale_trial_callback": callback(max_retry=MAX_RETRY)}


def open_storage(storage: str) -> optuna.storages.BaseStorage:
    """Journal file backend for a path, RDBStorage (with heartbeats) for a URL."""
    if not is_url(storage):
        path = Path(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    interval, grace = heartbeat_settings()
    try:
        # Several processes creating the schema of a fresh database at once collide
        # (PostgreSQL: duplicate pg_type rows); one at a time.
        with _rdb_lock(storage, "optuna-schema"), warnings.catch_warnings():
            # heartbeats and the retry callback are "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                storage,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=interval,
                grace_period=grace,
                **_retry_callback(),
            )
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises many kinds; one message for all
        raise _unreachable(storage, exc) from None


def _unreachable(storage: str, exc: BaseException) -> StorageError:
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    password = _password(storage)
    if password:
        reason = reason.replace(password, "***")
    return StorageError(
        f"cannot reach the Optuna storage {redact(storage)} (config key optuna.storage): "
        f"{reason}. Check that the database server runs and the URL, user and password are "
        "right, or use a journal file path such as results/optuna/journal.log"
    )


def _password(url: str) -> str | None:
    if "@" in url and "://" in url:
        credentials = url.split("://", 1)[1].rsplit("@", 1)[0]
        if ":" in credentials:
            return credentials.split(":", 1)[1] or None
    return None


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


def _lock_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _rdb_lock(url: str, name: str) -> Iterator[None]:
    """A database-wide lock held by one connection: advisory lock (PostgreSQL), GET_LOCK
    (MySQL), a file lock beside the file (SQLite, one machine)."""
    import sqlalchemy as sa

    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "sqlite":
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:":
            yield
            return
        with file_lock(Path(database).with_name(f".{Path(database).name}.{name}.lock")):
            yield
        return
    if backend not in ("postgresql", "mysql", "mariadb"):
        yield
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                key = _lock_key(name)
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                release = sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key}
            else:
                conn.execute(sa.text("SELECT GET_LOCK(:n, -1)"), {"n": name[:64]})
                release = sa.text("SELECT RELEASE_LOCK(:n)"), {"n": name[:64]}
            conn.commit()
            try:
                yield
            finally:
                conn.execute(*release)
                conn.commit()
    finally:
        engine.dispose()


@contextmanager
def study_lock(storage: str, study: str) -> Iterator[None]:
    """A lock held while enqueueing or recovering trials (one place at a time).

    For a journal file (one machine) it is a file lock beside the journal; for an RDB
    (many machines) a lock in the database itself (PostgreSQL advisory lock, MySQL GET_LOCK).
    """
    if is_url(storage):
        with ExitStack() as stack:
            try:
                stack.enter_context(_rdb_lock(storage, f"reid-study-{study}"))
            except Exception as exc:  # noqa: BLE001 - same message as open_storage
                raise _unreachable(storage, exc) from None
            yield
        return
    with file_lock(Path(storage).with_name(f".{study}.lock")):
        yield


def require_study(store: optuna.storages.BaseStorage, storage: str, name: str) -> None:
    """Fail with one clear line when the study was never created in this storage."""
    if name not in optuna.study.get_all_study_names(store):
        raise StudyMissingError(
            f"study {name!r} does not exist in the Optuna storage {redact(storage)} "
            f"(config key optuna.storage): run `reid tune create --study "
            f"{name.rsplit('-', 1)[0]}` with the same config first"
        )


def point_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Parameters of a trial, or those it was enqueued with while it still waits."""
    return dict(trial.params) or dict(trial.system_attrs.get("fixed_params", {}))


def stale_numbers(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Trials left by dead workers: marked stale (journal) or retried (RDB heartbeat)."""
    stale = {t.number for t in trials if t.user_attrs.get("stale")}
    for trial in trials:
        stale.update(int(n) for n in trial.system_attrs.get("retry_history", []))
    return stale
