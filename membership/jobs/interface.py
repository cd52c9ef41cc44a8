"""The job interface."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

from membership.db import current_engine, fetch_one, is_sqlite
from membership.db.engine import MembershipSQLiteEngine, current_settings
from membership.db.transaction import JOB_APPLICATION, job_chunk

SQLITE_HANDOFF_S = 0.003
MIN_CHUNK, MAX_CHUNK = 100, 5000  # a paced job starts at the least
MAX_REST_S = 1.0
QUIET_S = 2.0  # chunks grow again only when no till was seen for this long


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a job works through its chunks."""


class Pace:
    """The chunk size of one worker of a job, and its rest between chunks, so the job gives way to
    the tills.

    The size is fixed when the caller chose one; otherwise it starts at ``MIN_CHUNK``, halves
    whenever a till wants the database (a till waits for the rows of the chunk in flight, and on
    SQLite for the whole chunk) and doubles after each chunk once no till was seen for ``QUIET_S``
    (up to ``MAX_CHUNK``: big chunks are cheaper). Tills are seen by sampling, so one quiet
    sample between two purchases does not make the chunks grow.

    After each chunk, on SQLite, the job lets a full WAL be checkpointed (``drain_wal``) and waits a
    moment so a writer in another process (the server's tills poll for the lock every
    millisecond) takes the lock before the next chunk; on
    PostgreSQL, while tills run, each of a job's ``workers`` rests ``workers`` times as long as its
    chunk took (the job then takes at most half of a core)."""

    def __init__(self, chunk_size: int | None = None, workers: int = 1) -> None:
        self.fixed = chunk_size is not None
        self.size = chunk_size or MIN_CHUNK
        self.workers = workers
        self.rested = time.perf_counter()
        self.till_seen = float("-inf")

    async def rest(self) -> None:
        """After a committed chunk: rest as the tills need, and size the next chunk."""
        took = time.perf_counter() - self.rested
        busy = await _tills_busy()
        if is_sqlite():
            await current_engine().drain_wal()
            await asyncio.sleep(SQLITE_HANDOFF_S)
        elif busy:
            await asyncio.sleep(min(took * self.workers, MAX_REST_S))
        now = time.perf_counter()
        if busy:
            self.till_seen = now
        if not self.fixed:
            if busy:
                self.size = max(MIN_CHUNK, self.size // 2)
            elif now - self.till_seen >= QUIET_S:
                self.size = min(MAX_CHUNK, self.size * 2)
        self.rested = time.perf_counter()


async def _tills_busy() -> bool:
    engine = current_engine()
    if isinstance(engine, MembershipSQLiteEngine):
        return engine.contended()
    return await _other_backends_busy()


@job_chunk
async def _other_backends_busy() -> bool:
    """Whether a connection that is not a job's is at work. The check runs as a job's
    transaction itself, so the parallel workers of one job, checking at once, do not take each
    other's checks for tills."""
    row = await fetch_one(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
        " AND application_name <> {}",
        JOB_APPLICATION,
    )
    return bool(row and row["n"])


async def in_parts(work: Callable[[int, int], Awaitable[None]]) -> None:
    """Run ``work(part, parts)`` for every part at once: ``job_workers`` parts on PostgreSQL (each
    on its own connection, in its own transactions; ``work`` keeps the parts from touching the same
    rows), one on SQLite (one writer at a time). Meanwhile the heap is frozen
    (:func:`frozen_heap`)."""
    parts = 1 if is_sqlite() else current_settings().job_workers
    with frozen_heap():
        await asyncio.gather(*(work(part, parts) for part in range(parts)))


_freezes = 0  # big jobs running in this process


@contextlib.contextmanager
def frozen_heap():
    """Leave the objects alive now (the application: its modules, caches, the requests in flight)
    out of garbage collection until the last big job of this process ends. A job makes millions of
    short-lived rows, which trigger full collections, and each would walk the whole application:
    a third of the tier review's Python time went to it."""
    global _freezes
    if not _freezes:
        gc.freeze()
    _freezes += 1
    try:
        yield
    finally:
        _freezes -= 1
        if not _freezes:
            gc.unfreeze()  # back to the oldest generation: collectable again


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
        """Do the work as of ``now`` (UTC), reporting progress.

        ``now`` is the real time, or the time an operator named (``membership jobs run NAME
        --at 2027-01-01T00:00``: catching up after downtime, or trying a year of rules in
        seconds). Take every time the job needs from it, never from the system clock, and only
        ever move forward (expire, release, review what is due by ``now``): a run as of a time
        before an earlier run's then finds nothing left and undoes nothing."""
        raise NotImplementedError
