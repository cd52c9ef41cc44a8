"""Idempotency keys: a retried request has one effect and gets the same answer.

:func:`once` runs inside the use case's transaction. It looks the key up first (a replay returns
the stored answer), runs the use case, then inserts the key with its answer in the same
transaction as the effects, so it exists exactly when they do: two statements. The key's unique
index arbitrates a race: the loser's insert fails, its transaction rolls back and runs again,
finding the winner's answer. A request whose key is still being processed elsewhere gets
``IdempotencyKeyInUse`` instead of waiting: on PostgreSQL the first request holds a transaction
advisory lock on the key, which others try without blocking; in one process, :func:`in_flight`
marks keys before they queue for SQLite's single writer. (Two processes on one SQLite file are
serialised by the file lock: the second waits, then replays the stored answer.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec

from membership.db import fetch, fetch_one, is_sqlite, new_id
from membership.db.engine import current_settings
from membership.errors import IdempotencyConflict, IdempotencyKeyInUse, Reason, ValidationError

R = TypeVar("R")


def request_hash(operation: str, payload: Any) -> str:
    """A stable fingerprint of what was asked (operation and canonical JSON of the payload)."""
    canonical = json.dumps([operation, payload], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def once(
    scope: uuid.UUID,
    key: str | None,
    operation: str,
    payload: Any,
    result_type: type[R],
    run: Callable[[], Awaitable[R]],
) -> R:
    """Run ``run`` once per ``(scope, key)``; later calls return the stored result with
    ``replayed=True``. The same key with another payload raises ``IdempotencyConflict``."""
    if key is None:
        return await run()
    if not 1 <= len(key) <= 255:
        raise ValidationError(field="idempotency_key", reason=Reason("1 to 255 characters", "1 到 255 个字符"))
    fingerprint = request_hash(operation, payload)
    row = await _stored(scope, key)
    if row is not None:
        if row["request_hash"] != fingerprint or row["response"] is None:
            raise IdempotencyConflict(key=key)
        stored = msgspec.json.decode(row["response"], type=result_type)
        return dataclasses.replace(stored, replayed=True)  # type: ignore[type-var]
    result = await run()
    now = dt.datetime.now(dt.UTC)
    await fetch(  # a unique violation: the key committed meanwhile; the use case runs again and replays
        "INSERT INTO idempotency_key (id, scope, key, operation, request_hash, response, created_at, expires_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        str(scope),
        key,
        operation,
        fingerprint,
        msgspec.json.encode(result).decode(),
        now,
        now + dt.timedelta(days=current_settings().idempotency_ttl_days),
    )
    return result


async def _stored(scope: uuid.UUID, key: str) -> dict[str, Any] | None:
    """The key's stored request and answer, if it committed. On PostgreSQL the same statement takes
    the key's advisory lock, or raises ``IdempotencyKeyInUse`` when another transaction holds it
    (and has not stored the key yet)."""
    if is_sqlite():  # the write lock is held: nothing else runs meanwhile
        return await fetch_one(
            "SELECT request_hash, response FROM idempotency_key WHERE scope = {} AND key = {}", str(scope), key
        )
    row = await fetch_one(
        "SELECT l.ok, k.request_hash, k.response FROM (SELECT pg_try_advisory_xact_lock(hashtextextended({}, 0))"
        " AS ok) AS l LEFT JOIN idempotency_key k ON k.scope = {} AND k.key = {}",
        f"idempotency:{scope}:{key}",
        str(scope),
        key,
    )
    if row["request_hash"] is not None:
        return row
    if not row["ok"]:
        raise IdempotencyKeyInUse(key=key)
    return None


_in_flight: set[tuple[str, str]] = set()


@asynccontextmanager
async def in_flight(scope: str, key: str | None) -> AsyncIterator[None]:
    """Mark ``key`` as being processed in this process; a second request with it meanwhile gets
    ``IdempotencyKeyInUse`` (409) at once instead of queueing behind the first."""
    if key is None:
        yield
        return
    marker = (scope, key)
    if marker in _in_flight:
        raise IdempotencyKeyInUse(key=key)
    _in_flight.add(marker)
    try:
        yield
    finally:
        _in_flight.discard(marker)


async def purge_expired(now: dt.datetime) -> int:
    """Delete keys past their retention; returns how many."""
    rows = await fetch("DELETE FROM idempotency_key WHERE expires_at < {} RETURNING id", now)
    return len(rows)
