"""Storage: engine settings, retries on serialization failures, the fixtures shipped to plugin authors."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from membership.db import current_engine, fetch, fetch_one, is_sqlite, use_case
from membership.db.migrate import pending_migrations
from membership.errors import NotConfigured
from membership.org import service as org


class SerializationFailure(Exception):
    sqlstate = "40001"


async def test_use_case_retries_a_serialization_failure_and_commits_once(db):
    attempts = []

    @use_case
    async def flaky():
        attempts.append(1)
        merchant = await org.create_merchant(f"商户{len(attempts)}")
        if len(attempts) == 1:
            raise SerializationFailure("could not serialize access")
        return merchant

    merchant_id = await flaky()
    assert len(attempts) == 2
    rows = await fetch_one("SELECT COUNT(*) AS n, MAX(name) AS name FROM merchant")
    assert rows == {"n": 1, "name": "商户2"}  # the first attempt rolled back
    assert merchant_id


async def test_other_errors_are_not_retried(db):
    attempts = []

    @use_case
    async def broken():
        attempts.append(1)
        raise sqlite3.IntegrityError("UNIQUE constraint failed")

    with pytest.raises(sqlite3.IntegrityError):
        await broken()
    assert attempts == [1]


async def test_sqlite_runs_in_wal_with_full_sync(db):
    connection = await current_engine().get_connection()
    try:
        modes = [
            (await connection.execute(f"PRAGMA {name}"))[0]
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        ]
    finally:
        await connection.close()
    assert [next(iter(m.values())) for m in modes] == ["wal", 2, 30_000, 1]


async def test_plugin_author_fixture_gives_a_migrated_database(membership_db):
    assert await pending_migrations() == []
    assert await org.list_programs() == []


def test_unsupported_database_url_is_a_clear_error():
    from membership.config import Settings
    from membership.db.engine import make_engine

    with pytest.raises(NotConfigured) as caught:
        make_engine(Settings(database_url="mysql://localhost/x"))
    assert "sqlite:///" in caught.value.detail("en")


async def test_group_commit_acknowledges_nothing_when_the_shared_commit_fails(db, monkeypatch):
    """Concurrent use cases share one SQLite commit; when it fails, every one of them fails and
    none of their writes is kept; a use case that failed alone rolls back only itself."""
    from membership.db.engine import InlineConnection
    from membership.errors import InsufficientPoints
    from membership.ledger import service as ledger
    from membership.ledger.rules import LineInput
    from membership.sales import service as sales
    from tests.helpers import ledger_violations, make_shop

    shop = await make_shop()
    real_execute = InlineConnection.execute
    commits: list[str] = []

    async def failing_commit(self, sql, args=()):
        if sql == "COMMIT":
            commits.append(sql)
            raise sqlite3.OperationalError("disk I/O error")
        return await real_execute(self, sql, args)

    monkeypatch.setattr(InlineConnection, "execute", failing_commit)

    async def buy(n: int):
        return await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 1_000)], idempotency_key=f"g{n}"
        )

    outcomes = await asyncio.gather(*(buy(n) for n in range(10)), return_exceptions=True)
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes)
    assert len(commits) < 10  # they shared commits
    monkeypatch.setattr(InlineConnection, "execute", real_execute)
    assert await fetch("SELECT id FROM sale") == []

    outcomes = await asyncio.gather(
        buy(100), ledger.redeem_points(shop.member_id, 10_000), buy(101), return_exceptions=True
    )
    assert isinstance(outcomes[1], InsufficientPoints)
    assert [o.points_earned for o in (outcomes[0], outcomes[2])] == [10, 10]
    assert len(await fetch("SELECT id FROM sale")) == 2
    assert await ledger_violations() == []


def test_job_workers_come_from_the_environment_and_are_bounded(monkeypatch, tmp_path):
    from membership.config import load_settings
    from membership.errors import ValidationError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERSHIP_JOB_WORKERS", "3")
    assert load_settings().job_workers == 3
    for bad in ("0", "17", "two"):
        monkeypatch.setenv("MEMBERSHIP_JOB_WORKERS", bad)
        with pytest.raises(ValidationError) as found:
            load_settings()
        assert "job_workers" in str(found.value)


async def test_sqlite_checkpoints_beside_the_writer(db):
    """No checkpoint inside a commit: after it, one runs in a worker thread on its own connection."""
    from membership.db import execute

    @use_case
    async def write() -> None:
        await execute("UPDATE program SET name = name")

    engine = current_engine()
    writer = await engine.acquire(write=True)
    assert writer.connection.execute("PRAGMA wal_autocheckpoint").fetchone() == {"wal_autocheckpoint": 0}
    pool = engine._pool()
    assert pool.checkpointer is None
    await write()
    for _ in range(100):
        if pool.checkpointer is not None and not pool.checkpointing:
            break
        await asyncio.sleep(0.02)
    assert pool.checkpointer is not None and not pool.checkpointing


async def test_past_the_wal_limit_a_job_waits_for_a_checkpoint_and_the_wal_starts_over(db, monkeypatch):
    """A writer that never pauses starves the checkpoints beside it (here: none run at all), and
    the WAL only grows. Past the limit, ``drain_wal`` (a job's pace, between chunks) copies it all
    back, so the next write starts the WAL over."""
    from membership.db import engine as engines

    def restarts() -> int:  # the WAL header's checkpoint sequence: +1 each time the WAL starts over
        with open(engine.connection_kwargs["database"] + "-wal", "rb") as wal:
            return int.from_bytes(wal.read(16)[12:16], "big")

    engine = current_engine()
    pool = engine._pool()
    monkeypatch.setattr(engine, "checkpoint_soon", lambda: None)
    for _ in range(5):
        await org.create_merchant("连锁")
    before = restarts()
    pool.wal_pages = engines.SQLITE_WAL_LIMIT_PAGES - 1
    await engine.drain_wal()  # under the limit: no wait
    await org.create_merchant("连锁")
    assert restarts() == before
    pool.wal_pages = engines.SQLITE_WAL_LIMIT_PAGES
    await engine.drain_wal()
    assert 6 <= pool.wal_pages < engines.SQLITE_WAL_LIMIT_PAGES  # it copied back the whole WAL
    await org.create_merchant("连锁")
    assert restarts() == before + 1  # so this write started it over


async def test_a_job_chunk_commits_alone_without_waiting_for_the_disk(db):
    """A job's chunk never shares a commit with tills: tills queued behind it commit in a group of
    their own with ``synchronous=FULL``; an open group of tills commits before the chunk begins.
    The chunk alone commits with ``synchronous=NORMAL``, and the writer is back to FULL after it."""
    from membership.db import execute, job_chunk

    seen = []

    async def record(who: str) -> None:
        connection = current_engine().current_transaction.get().connection
        mode = (await connection.execute("PRAGMA synchronous"))[0]["synchronous"]
        count = await fetch_one("SELECT COUNT(*) AS n FROM merchant")
        seen.append((who, mode, count["n"]))
        await execute("INSERT INTO merchant (id, name, created_at) VALUES (uuid7(), {}, CURRENT_TIMESTAMP)", who)

    @job_chunk
    async def chunk() -> None:
        await record("job")

    @use_case
    async def till() -> None:
        await record("till")

    await asyncio.gather(chunk(), till(), till())
    await asyncio.gather(till(), chunk())
    assert seen == [("job", 1, 0), ("till", 2, 1), ("till", 2, 2), ("till", 2, 3), ("job", 1, 4)]
    writer = await current_engine().acquire(write=True)
    assert writer.connection.execute("PRAGMA synchronous").fetchone() == {"synchronous": 2}
    assert (await fetch_one("SELECT COUNT(*) AS n FROM merchant"))["n"] == 5


async def test_a_failing_job_chunk_leaves_nothing_and_the_writer_works_on(any_db):
    """A job's chunk runs in a transaction of its own without a savepoint (inside one, SQLite
    copies each page before its first change: big chunks ran three times slower); when it fails,
    the whole transaction rolls back, and the next chunk and tills write as before."""
    from membership.db import execute, job_chunk

    @job_chunk
    async def chunk(fail: bool) -> None:
        await execute("INSERT INTO merchant (id, name, created_at) VALUES (uuid7(), {}, CURRENT_TIMESTAMP)", "甲")
        await execute("INSERT INTO merchant (id, name, created_at) VALUES (uuid7(), {}, CURRENT_TIMESTAMP)", "乙")
        if fail:
            raise RuntimeError("chunk failed")

    @use_case
    async def till() -> None:
        await execute("INSERT INTO merchant (id, name, created_at) VALUES (uuid7(), {}, CURRENT_TIMESTAMP)", "丙")

    with pytest.raises(RuntimeError, match="chunk failed"):
        await chunk(True)
    assert (await fetch_one("SELECT COUNT(*) AS n FROM merchant"))["n"] == 0
    await asyncio.gather(chunk(False), till())
    assert (await fetch_one("SELECT COUNT(*) AS n FROM merchant"))["n"] == 3
    if is_sqlite():
        writer = await current_engine().acquire(write=True)
        assert not writer.connection.in_transaction
        assert writer.connection.execute("PRAGMA synchronous").fetchone() == {"synchronous": 2}
