"""PostgreSQL backups with the server's own tools: ``pg_dump`` (custom format) and ``pg_restore``.

``pg_dump`` reads one consistent snapshot and takes only share locks, so tills keep committing
while it runs. A dump is verified by restoring it into a scratch database on the same server
(``CREATE DATABASE``, so the user needs the CREATEDB privilege), checking it and dropping it.
A password in the database URL is handed to the tools in ``PGPASSWORD``, never on their command
line (which other users of the machine can list).
"""

from __future__ import annotations

import collections
import glob
import os
import shutil
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from membership.backup.errors import BackupFailed, RestoreRefused
from membership.backup.verify import Verified, invalid, verify_database
from membership.errors import NotConfigured, Reason

HEADER = b"PGDMP"
Heard = Callable[[int], None]  # tables dumped or restored so far


def is_dump_file(path: Path) -> bool:
    """Whether ``path`` is a file that starts like a ``pg_dump --format=custom`` archive."""
    if not path.is_file():
        return False
    with open(path, "rb") as file:
        return file.read(len(HEADER)) == HEADER


def tool(name: str) -> str:
    """The path of PostgreSQL's ``name`` (pg_dump, pg_restore): ``$MEMBERSHIP_PG_BINDIR``, then
    ``PATH``, then the newest ``/usr/lib/postgresql/*/bin`` (Debian and Ubuntu)."""
    explicit = os.environ.get("MEMBERSHIP_PG_BINDIR")
    found = [str(Path(explicit) / name)] if explicit else []
    found.append(shutil.which(name) or "")
    debian = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    found += sorted(debian, key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0, reverse=True)
    for candidate in found:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise NotConfigured(
        what=name,
        hint=Reason(
            "not found on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL client tools"
            " (apt install postgresql-client) or set MEMBERSHIP_PG_BINDIR",
            "在 PATH 和 /usr/lib/postgresql/*/bin 中都找不到：请安装 PostgreSQL 客户端工具"
            "（apt install postgresql-client）或设置 MEMBERSHIP_PG_BINDIR",
        ),
    )


def address(dsn: str) -> tuple[str, dict[str, str]]:
    """(URL without its password, environment for the tools with ``PGPASSWORD``)."""
    parts = urllib.parse.urlsplit(dsn.replace("cockroachdb://", "postgresql://", 1))
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), env


def naming(dsn: str, database: str) -> str:
    """``dsn`` with ``database`` in place of its database."""
    parts = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{urllib.parse.quote(database)}", parts.query, ""))


async def _run(name: str, arguments: list[str], env: dict[str, str], heard: Heard | None, marker: str) -> None:
    """Run the tool ``name``; each stderr line with ``marker`` counts one table for ``heard``.
    A failure raises :class:`BackupFailed` with the tool's error line."""
    import asyncio

    process = await asyncio.create_subprocess_exec(
        tool(name),
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    tail: collections.deque[str] = collections.deque(maxlen=20)
    tables = 0
    assert process.stderr is not None
    async for raw in process.stderr:
        line = raw.decode(errors="replace").rstrip()
        tail.append(line)
        if marker in line and heard is not None:
            tables += 1
            heard(tables)
    if await process.wait():
        errors = [line for line in tail if "error:" in line] or list(tail) or [f"exit status {process.returncode}"]
        raise BackupFailed(tool=name, error=errors[0].removeprefix(f"{name}: ").removeprefix("error: "))


async def dump(dsn: str, target: Path, heard: Heard | None = None) -> None:
    """``pg_dump --format=custom`` of the database ``dsn`` into the new file ``target``."""
    url, env = address(dsn)
    arguments = ["--format=custom", "--verbose", "--no-password", f"--file={target}", f"--dbname={url}"]
    await _run("pg_dump", arguments, env, heard, "dumping contents of table")
    descriptor = os.open(target, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def _restore_into(archive: Path, dsn: str, clean: bool, heard: Heard | None = None) -> None:
    """``pg_restore`` of ``archive`` into the database ``dsn``, in one transaction, objects owned
    by the restoring user; ``clean`` drops what the archive holds first."""
    url, env = address(dsn)
    arguments = ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--verbose"]
    arguments += ["--clean", "--if-exists"] if clean else []
    await _run(
        "pg_restore",
        [*arguments, "--no-password", f"--dbname={url}", str(archive)],
        env,
        heard,
        "processing data for table",
    )


async def _connect(dsn: str) -> Any:
    """An asyncpg connection to ``dsn``; a refusal (no such database, wrong password) is a
    ``BackupFailed``, an unreachable server an ``OSError``."""
    import asyncpg

    url, env = address(dsn)
    try:
        return await asyncpg.connect(url, password=env.get("PGPASSWORD"))
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise BackupFailed(tool="PostgreSQL", error=str(exc)) from exc


async def verify_at(dsn: str, label: object, master_keys: list[bytes] | None) -> Verified:
    """Check the database ``dsn`` (``label`` names it in messages); see :func:`verify_database`."""
    import asyncpg

    connection = await _connect(dsn)
    try:

        async def query(sql: str) -> list[dict[str, Any]]:
            return [dict(row) for row in await connection.fetch(sql)]

        return await verify_database(query, label, master_keys)
    except asyncpg.PostgresError as exc:
        raise invalid(label, f"unreadable: {exc}", f"无法读取：{exc}") from exc
    finally:
        await connection.close()


async def verify_dump(archive: Path, dsn: str, master_keys: list[bytes] | None) -> Verified:
    """Restore ``archive`` into a scratch database on the server of ``dsn``, check it, drop it."""
    import asyncpg

    if not is_dump_file(archive):
        raise invalid(archive, "not a pg_dump archive (custom format)", "不是 pg_dump 备份（custom 格式）")
    scratch = f"membership_verify_{uuid.uuid4().hex[:12]}"
    admin = await _connect(dsn)
    try:
        try:
            await admin.execute(f"CREATE DATABASE \"{scratch}\" TEMPLATE template0 ENCODING 'UTF8'")
        except asyncpg.PostgresError as exc:
            raise BackupFailed(
                tool="CREATE DATABASE",
                error=Reason(
                    f"{exc} (a dump is verified in a scratch database: the user needs CREATEDB)",
                    f"{exc}（校验需要在临时数据库中恢复备份：该用户需要 CREATEDB 权限）",
                ),
            ) from exc
        try:
            try:
                await _restore_into(archive, naming(dsn, scratch), clean=False)
            except BackupFailed as exc:
                error = exc.params["error"]
                raise invalid(archive, f"pg_restore: {error}", f"pg_restore 失败：{error}") from exc
            return await verify_at(naming(dsn, scratch), archive, master_keys)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    finally:
        await admin.close()


async def _holds_data(connection: Any) -> bool:
    tables = await connection.fetch(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables"
        " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        " AND table_name <> 'migration'"
    )
    for table in tables:
        if await connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table['name']})"):
            return True
    return False


async def check_empty(dsn: str, force: bool) -> None:
    """Refuse (``RestoreRefused``) to restore into the database ``dsn`` when it holds data,
    unless ``force``."""
    if force:
        return
    connection = await _connect(dsn)
    try:
        holds_data = await _holds_data(connection)
        database = await connection.fetchval("SELECT current_database()")
    finally:
        await connection.close()
    if holds_data:
        raise RestoreRefused(
            database=database,
            reason=Reason("it holds data; add --force to replace it", "已有数据；确认覆盖请加 --force"),
        )


async def restore(archive: Path, dsn: str, heard: Heard | None = None) -> None:
    """``pg_restore`` of ``archive`` into the database ``dsn`` (what it holds of the archive's
    tables dropped first), in one transaction: a failure leaves the database as it was. Check
    first that it may be replaced (:func:`check_empty`)."""
    if not is_dump_file(archive):
        raise invalid(archive, "not a pg_dump archive (custom format)", "不是 pg_dump 备份（custom 格式）")
    await _restore_into(archive, dsn, clean=True, heard=heard)
