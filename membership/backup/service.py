"""Backups (备份) of the configured database, their verification, and restores (恢复).

:func:`backup` copies the database while the server keeps writing (SQLite's online backup API,
or ``pg_dump``) and checks the copy; :func:`verify_backup` checks a backup file;
:func:`restore` puts one in place of the configured database and checks the result. The engine
of the settings decides how; none of them opens the kernel's engine (a backup taken before an
upgrade must not migrate first).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from membership.backup import postgres, sqlite
from membership.backup.errors import BackupFailed
from membership.backup.verify import Verified, invalid
from membership.config import Settings
from membership.errors import NotConfigured, Reason, ValidationError

Progress = Callable[[int, int | None], None]  # (done, of how many: SQLite pages; None: PostgreSQL tables)


@dataclasses.dataclass(frozen=True)
class BackupDone:
    """A backup written (and, unless asked not to, verified)."""

    path: Path
    size: int  # bytes
    seconds: float  # copying, without the verify
    verified: Verified | None


def default_path(settings: Settings, folder: Path, now: dt.datetime | None = None) -> Path:
    """``membership-YYYYMMDD-HHMM.db`` (SQLite) or ``.dump`` (PostgreSQL) in ``folder``, in the
    program's time zone; ``-2``, ``-3``… when a backup of the same minute exists."""
    when = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(settings.time_zone))
    suffix = ".db" if settings.is_sqlite else ".dump"
    stem = f"membership-{when:%Y%m%d-%H%M}"
    path, n = folder / f"{stem}{suffix}", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    return path


def _master_keys(settings: Settings) -> list[bytes] | None:
    """The configured keys (the current one, and the old ones while a key rotation runs)."""
    return settings.master_keys() if settings.secret_key else None


def backup_target(settings: Settings, path: Path | None = None) -> Path:
    """Where a backup of ``settings``' database goes: ``path``, or :func:`default_path` in the
    current folder. Refused before anything is written when the file exists, its folder does not,
    the SQLite database is missing, or pg_dump is not installed."""
    path = (path or default_path(settings, Path.cwd())).absolute()
    if path.exists():
        raise ValidationError(
            field=str(path), reason=Reason("exists; choose another name", "文件已存在，请换一个文件名")
        )
    if not path.parent.is_dir():
        raise ValidationError(field=str(path), reason=Reason("its folder does not exist", "所在文件夹不存在"))
    if settings.is_sqlite and not settings.sqlite_path.is_file():
        source = settings.sqlite_path
        raise NotConfigured(what="database", hint=Reason(f"{source} does not exist", f"{source} 不存在"))
    if not settings.is_sqlite:
        postgres.tool("pg_dump")
    return path


async def backup(
    settings: Settings, path: Path | None = None, verify: bool = True, progress: Progress | None = None
) -> BackupDone:
    """Back the database of ``settings`` up into the new file ``path`` (see :func:`backup_target`),
    then verify it (:func:`verify_backup`).

    The copy is written to ``PATH.partial`` (readable by its owner only) and renamed when
    complete, so ``path`` never names half a backup. A backup that fails its verify is kept (a
    faithful copy of what the database holds) and ``BackupInvalid`` says why."""
    path = backup_target(settings, path)
    partial = _private_file(path.with_name(f"{path.name}.partial"))
    started = time.monotonic()
    try:
        if settings.is_sqlite:
            await asyncio.to_thread(_copy_sqlite, settings.sqlite_path, partial, progress)
        else:
            await postgres.dump(settings.database_url, partial, _tables(progress))
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    verified = await verify_backup(settings, path) if verify else None
    return BackupDone(path, path.stat().st_size, seconds, verified)


def _private_file(path: Path, like: Path | None = None) -> Path:
    """Create ``path`` anew and empty, readable by its owner only (a backup holds the members'
    data), or with the permissions of ``like`` when that file exists; returns ``path``."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    if like is not None and like.exists():
        os.chmod(path, stat.S_IMODE(like.stat().st_mode))
    return path


def _tables(progress: Progress | None) -> Callable[[int], None] | None:
    """``progress`` for the PostgreSQL tools, which count tables of an unknown total."""
    return None if progress is None else lambda tables: progress(tables, None)


def _copy_sqlite(source: Path, target: Path, progress: Progress | None) -> None:
    try:
        sqlite.copy_snapshot(source, target, progress)
    except sqlite3.DatabaseError as exc:
        raise BackupFailed(tool="SQLite backup", error=str(exc)) from exc


def _kind(file: Path) -> str:
    if not file.is_file():
        raise invalid(file, "no such file", "文件不存在")
    if sqlite.is_sqlite_file(file):
        return "sqlite"
    if postgres.is_dump_file(file):
        return "postgres"
    raise invalid(file, "neither a SQLite database nor a pg_dump archive", "既不是 SQLite 数据库，也不是 pg_dump 备份")


def _needs_postgres(settings: Settings, file: Path) -> None:
    if settings.is_sqlite:
        raise NotConfigured(
            what="database_url",
            hint=Reason(
                f"{file.name} is a PostgreSQL dump: set database_url (or MEMBERSHIP_DATABASE_URL)"
                " to a PostgreSQL database",
                f"{file.name} 是 PostgreSQL 备份：请把 database_url（或 MEMBERSHIP_DATABASE_URL）"
                "设为 PostgreSQL 数据库",
            ),
        )


async def verify_backup(settings: Settings, file: Path) -> Verified:
    """Check a backup file: a SQLite file directly (integrity and foreign-key checks, the ledger
    invariants), a PostgreSQL dump restored into a scratch database on the configured server; with
    a secret key in ``settings``, that personal data opens with it. Raises ``BackupInvalid``."""
    key = _master_keys(settings)
    if _kind(file) == "sqlite":
        return await sqlite.verify_file(file, key)
    _needs_postgres(settings, file)
    return await postgres.verify_dump(file, settings.database_url, key)


async def check_restore(settings: Settings, file: Path, force: bool = False) -> None:
    """Refuse a restore before anything changes: ``file`` is not a backup for this deployment's
    engine, the database holds data (unless ``force``: ``RestoreRefused``), a SQLite database is
    open in another process (a server), or pg_restore is not installed. A SQLite database that may
    be replaced has its WAL folded in (no WAL is left over to pair with the restored file)."""
    kind = _kind(file)
    if settings.is_sqlite:
        if kind != "sqlite":
            _needs_postgres(settings, file)
        await asyncio.to_thread(sqlite.take_over, settings.sqlite_path, force)
        return
    if kind != "postgres":
        raise invalid(
            file,
            "a SQLite backup; this deployment's database is PostgreSQL",
            "这是 SQLite 备份；本部署的数据库是 PostgreSQL",
        )
    postgres.tool("pg_restore")
    await postgres.check_empty(settings.database_url, force)


async def restore(settings: Settings, file: Path, force: bool = False, progress: Progress | None = None) -> Verified:
    """Replace the database of ``settings`` with the backup ``file`` and verify the result.

    Refused as :func:`check_restore` says. SQLite: the backup is copied beside the database,
    verified there and renamed into place, so a failed check leaves the database untouched.
    PostgreSQL: ``pg_restore --clean --if-exists`` in one transaction, then verified in place."""
    await check_restore(settings, file, force)
    key = _master_keys(settings)
    if not settings.is_sqlite:
        await postgres.restore(file, settings.database_url, _tables(progress))
        name = urllib.parse.urlsplit(settings.database_url).path[1:]
        return await postgres.verify_at(settings.database_url, name, key)
    database = settings.sqlite_path
    database.parent.mkdir(parents=True, exist_ok=True)
    restoring = _private_file(database.with_name(f"{database.name}.restoring"), like=database)
    try:
        try:
            await asyncio.to_thread(sqlite.copy_snapshot, file, restoring, progress)
        except sqlite3.DatabaseError as exc:
            raise invalid(file, f"unreadable: {exc}", f"无法读取：{exc}") from exc
        verified = await sqlite.verify_file(restoring, key, label=file)
        sqlite.put_in_place(restoring, database)
    finally:
        restoring.unlink(missing_ok=True)
    return dataclasses.replace(verified, file=str(database))
