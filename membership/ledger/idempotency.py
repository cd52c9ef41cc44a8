"""Idempotency keys: a retried request has one effect and gets the same answer.

:func:`once` runs inside the use case's transaction. The key row is inserted first with
``ON CONFLICT DO NOTHING``, and the answer is stored in the same transaction as the effects, so
it exists exactly when they do. A request whose key is still being processed elsewhere gets
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
    if not is_sqlite():
        lock = await fetch_one(
            "SELECT pg_try_advisory_xact_lock(hashtextextended({}, 0)) AS ok", f"idempotency:{scope}:{key}"
        )
        if not lock["ok"]:
            raise IdempotencyKeyInUse(key=key)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=current_settings().idempotency_ttl_days)
    inserted = await fetch(
        "INSERT INTO idempotency_key (id, scope, key, operation, request_hash, response, created_at, expires_at)"
        " VALUES ({}, {}, {}, {}, {}, NULL, {}, {}) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
        new_id(),
        str(scope),
        key,
        operation,
        fingerprint,
        now,
        expires,
    )
    if not inserted:
        row = await fetch_one(
            "SELECT request_hash, response FROM idempotency_key WHERE scope = {} AND key = {}", str(scope), key
        )
        if row is None:  # inserted by a transaction that has not committed yet
            raise IdempotencyKeyInUse(key=key)
        if row["request_hash"] != fingerprint or row["response"] is None:
            raise IdempotencyConflict(key=key)
        stored = msgspec.json.decode(row["response"], type=result_type)
        return dataclasses.replace(stored, replayed=True)  # type: ignore[type-var]
    result = await run()
    await fetch(
        "UPDATE idempotency_key SET response = {} WHERE scope = {} AND key = {}",
        msgspec.json.encode(result).decode(),
        str(scope),
        key,
    )
    return result


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
