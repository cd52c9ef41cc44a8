"""Idempotency keys: a retried request has one effect and gets the same answer.

:func:`once` runs inside the use case's transaction. The key row is inserted first with
``ON CONFLICT DO NOTHING``: on PostgreSQL a concurrent request with the same key waits for the
first to commit and then finds its stored answer; on SQLite writers are serialised anyway. The
answer is stored in the same transaction as the effects, so it exists exactly when they do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from membership.db import fetch, fetch_one
from membership.db.engine import current_settings
from membership.errors import IdempotencyConflict, ValidationError

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
        raise ValidationError(field="idempotency_key", reason="1 to 255 characters")
    fingerprint = request_hash(operation, payload)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=current_settings().idempotency_ttl_days)
    inserted = await fetch(
        "INSERT INTO idempotency_key (id, scope, key, operation, request_hash, response, created_at, expires_at)"
        " VALUES ({}, {}, {}, {}, {}, NULL, {}, {}) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
        uuid.uuid4(),
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
        if row is None or row["request_hash"] != fingerprint or row["response"] is None:
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


async def purge_expired(now: dt.datetime) -> int:
    """Delete keys past their retention; returns how many."""
    rows = await fetch("DELETE FROM idempotency_key WHERE expires_at < {} RETURNING id", now)
    return len(rows)
