"""Use cases: one database transaction each, retried on serialization failures.

Decorate a service function with :func:`use_case`. It runs inside one write transaction; a
nested use case joins the outer one. Events emitted with :func:`emit` are written to the outbox
in that transaction and delivered to the ``membership_event`` listeners after the commit, so
listeners never see a rolled-back change and never hold the use case up.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import random
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from membership.db.engine import MembershipSQLiteEngine, current_engine
from membership.db.sql import execute
from membership.events import Event

P = ParamSpec("P")
R = TypeVar("R")

MAX_ATTEMPTS = 8
MAX_UNIQUE_RETRIES = 2
JOB_APPLICATION = "membership-job"  # PostgreSQL's application_name of a job's chunks
_current_events: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
    "membership_pending_events", default=None
)
_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "membership_after_commit", default=None
)


def is_retryable(exc: BaseException) -> bool:
    """True for failures that a fresh attempt of the same transaction can get past."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate in {"40001", "40P01"}  # serialization failure, deadlock detected


def is_unique_violation(exc: BaseException) -> bool:
    """True when PostgreSQL's unique index refused a row. In a use case that checks before it
    inserts (a phone enrolled twice at once), a concurrent transaction committed the same key
    between the check and the insert: a fresh attempt sees it in the check and refuses with the
    clear error. (SQLite runs write transactions one at a time: its checks are exact.)"""
    return getattr(exc, "sqlstate", None) == "23505"


async def _in_transaction(body: Callable[[], Awaitable[R]], durable: bool) -> R:
    """Run ``body`` in one write transaction: SQLite's group commit, or a PostgreSQL transaction."""
    engine = current_engine()
    if engine.current_transaction.get() is not None:  # the caller opened one: join it
        return await body()
    if isinstance(engine, MembershipSQLiteEngine):
        return await engine.write(body, durable=durable)
    async with engine.transaction():
        if not durable:
            await execute(f"SET LOCAL application_name = '{JOB_APPLICATION}'")
            await execute("SET LOCAL synchronous_commit = off")
        return await body()


def emit(event: Event) -> None:
    """Record ``event`` with the current use case: written to the outbox in its transaction and
    delivered after it commits."""
    pending = _current_events.get()
    if pending is None:
        raise RuntimeError("emit() outside a use case")
    pending.append(event)


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` once the current use case committed (at once outside a use case); never
    when it rolls back. For work that must not run inside the transaction, e.g. starting a
    background task, which would otherwise inherit the transaction's connection."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


async def _with_outbox(body: Callable[[], Awaitable[R]], events: list[Event], written: list[uuid.UUID]) -> R:
    """Run ``body``, then write the events it emitted to the outbox in the same transaction."""
    from membership.outbox import service as outbox
    from membership.plugins import hooks

    result = await body()
    if events and hooks().has_event_listeners():
        written[:] = await outbox.write(events)
    return result


def use_case(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run ``fn`` as one transaction: all of it commits or none of it does."""
    return _transactional(fn, durable=True)


def job_chunk(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run ``fn``, one chunk of a big job, as one transaction (as :func:`use_case`) whose commit
    does not wait for the disk: the next commit that waits makes it durable, and a crash before
    that loses at most the last chunks, which the job (idempotent, resumable) does again on its
    next run. Every till's commit and the job's recorded end stay durable. On PostgreSQL the
    transaction is named ``JOB_APPLICATION``, so a job's pace tells it from the tills'
    (:class:`membership.jobs.interface.Pace`), with ``synchronous_commit`` off (which took a
    tenth off the expiry's time); on SQLite it commits alone with ``synchronous=NORMAL`` (a tenth
    too)."""
    return _transactional(fn, durable=False)


def _transactional(fn: Callable[P, Awaitable[R]], durable: bool) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _current_events.get() is not None:  # nested: part of the caller's transaction
            return await fn(*args, **kwargs)
        unique_retries = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            events: list[Event] = []
            written: list[uuid.UUID] = []
            callbacks: list[Callable[[], None]] = []
            token = _current_events.set(events)
            callbacks_token = _after_commit.set(callbacks)
            try:
                body = functools.partial(_with_outbox, functools.partial(fn, *args, **kwargs), events, written)
                result = await _in_transaction(body, durable)
            except Exception as exc:
                if is_unique_violation(exc) and unique_retries < MAX_UNIQUE_RETRIES and attempt < MAX_ATTEMPTS:
                    unique_retries += 1
                    continue
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            finally:
                _current_events.reset(token)
                _after_commit.reset(callbacks_token)
            from membership.outbox.service import deliver_soon

            deliver_soon(written)
            for callback in callbacks:
                callback()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    return run
