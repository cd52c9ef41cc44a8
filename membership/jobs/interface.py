"""The job interface."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import ClassVar

from membership.db import execute, is_sqlite
from membership.db.engine import current_settings

SQLITE_HANDOFF_S = 0.003
SQLITE_CHUNK = 300
POSTGRES_CHUNK = 5000


def default_chunk_size() -> int:
    """How many rows a chunked job takes per transaction unless told: on SQLite a chunk holds the
    only write lock, so chunks stay small (a till waits at most a few tens of milliseconds); on
    PostgreSQL tills write beside a job, so chunks are large."""
    return SQLITE_CHUNK if is_sqlite() else POSTGRES_CHUNK


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a job works through its chunks."""


async def between_chunks() -> None:
    """Call after each committed chunk. On SQLite (one writer at a time) it waits a moment, so a
    writer in another process that waits for the lock (the server's tills poll for it every
    millisecond) takes it before the next chunk does: a till waits at most one chunk."""
    if is_sqlite():
        await asyncio.sleep(SQLITE_HANDOFF_S)


async def commit_without_waiting() -> None:
    """Call first in a chunk of a job that can be run again (its chunk is idempotent): on
    PostgreSQL its commit does not wait for the WAL flush (``synchronous_commit = off`` for this
    transaction). A crash can then lose the last chunks committed, never part of one; the next run
    does them again (and announces their events again). SQLite commits are grouped instead."""
    if not is_sqlite():
        await execute("SET LOCAL synchronous_commit = off")


async def in_parts(work: Callable[[int, int], Awaitable[None]]) -> None:
    """Run ``work(part, parts)`` for every part at once: ``job_workers`` parts on PostgreSQL (each
    on its own connection, in its own transactions; ``work`` keeps the parts from touching the same
    rows), one on SQLite (one writer at a time)."""
    parts = 1 if is_sqlite() else current_settings().job_workers
    await asyncio.gather(*(work(part, parts) for part in range(parts)))


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What one run changed: ``processed`` rows and a human summary."""

    processed: int
    summary: str


class Job:
    """Base class of jobs; register subclasses with ``membership_register_jobs``.

    A job must be safe to run twice (the second run changes nothing) and to resume after a crash
    (each chunk commits on its own).

    Example::

        class ExpireCoupons(Job):
            name = "expire-coupons"
            description = "Mark coupons past their end date as expired"
            schedule = "5 0 * * *"  # daily at 00:05

            async def run(self, now, progress):
                n = await expire_coupons(now)
                progress(n, n)
                return JobResult(n, f"{n} coupons expired")
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    schedule: ClassVar[str] = ""
    """When the scheduler runs it: a cron expression in the configured time zone (``"10 2 * * *"``:
    daily at 02:10); empty for jobs run only by hand (``membership jobs run NAME``)."""

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        """Do the work as of ``now`` (UTC), reporting progress."""
        raise NotImplementedError
