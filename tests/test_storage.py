"""Storage: engine settings, retries on serialization failures, the fixtures shipped to plugin authors."""

from __future__ import annotations

import sqlite3

import pytest

from membership.db import current_engine, fetch_one, use_case
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
