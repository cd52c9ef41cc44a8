"""Running a job under a database lease, and recording the run.

A worker runs a job only while it holds the job's lease (``job_lease``): taking it is one short
transaction that locks the lease row with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's
``BEGIN IMMEDIATE`` already serialises writers) and succeeds only when the lease is free or has
expired. A background task renews the lease while the job works; a worker that dies frees it
when ``leased_until`` passes. Scheduled runs also name their ``slot`` (the schedule time they
serve), unique per job, so a slot is served once however many workers see it due.

A run records the time it ran as of (``as_of``): its start, or the time an operator named
(``membership jobs run NAME --at …``, :mod:`membership.jobs.clock`). The lease and the run's
``started_at``/``finished_at`` stay on the real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import socket
import uuid
from typing import Any

from membership.db import execute, fetch, fetch_one, is_sqlite, new_id, use_case
from membership.errors import JobNotFound, Reason, ValidationError
from membership.jobs.interface import JobResult, Progress
from membership.plugins import hooks

LEASE = dt.timedelta(minutes=5)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What asking to run a job did: ``result`` when it ran here; else who holds it, or that the
    slot was already served."""

    name: str
    result: JobResult | None = None
    held_by: str | None = None
    already_done: bool = False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@use_case
async def _take(
    name: str, worker: str, slot: dt.datetime | None, as_of: dt.datetime | None = None
) -> tuple[uuid.UUID | None, str | None, bool]:
    """Take the lease and open the run row (run as of ``as_of``, default its start):
    ``(run id, None, False)``; or ``(None, holder, False)`` when another worker holds it; or
    ``(None, None, True)`` when the slot was already served."""
    now = _now()
    as_of = as_of or now
    await execute(
        "INSERT INTO job_lease (name, holder, leased_until) VALUES ({}, NULL, NULL) ON CONFLICT (name) DO NOTHING", name
    )
    lock = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    lease = await fetch_one(f"SELECT holder, leased_until FROM job_lease WHERE name = {{}}{lock}", name)
    if lease is None:
        return None, "another worker", False  # locked this very moment by a worker taking it
    if lease["leased_until"] is not None and lease["leased_until"] > now:
        return None, lease["holder"], False
    run_id, served = new_id(), None
    if slot is not None:
        served = await fetch_one("SELECT id, finished_at FROM job_run WHERE name = {} AND slot = {}", name, slot)
        if served is not None and served["finished_at"] is not None:
            return None, None, True
        if served is not None:  # its worker died mid-run: resume the slot (jobs are resumable)
            run_id = served["id"]
            await execute(
                "UPDATE job_run SET worker = {}, started_at = {}, as_of = {} WHERE id = {}", worker, now, as_of, run_id
            )
    if served is None:
        await execute(
            "INSERT INTO job_run (id, name, slot, as_of, worker, started_at, processed, summary, error)"
            " VALUES ({}, {}, {}, {}, {}, {}, 0, '', '')",
            run_id,
            name,
            slot,
            as_of,
            worker,
            now,
        )
    await execute("UPDATE job_lease SET holder = {}, leased_until = {} WHERE name = {}", worker, now + LEASE, name)
    return run_id, None, False


@use_case
async def _renew(name: str, worker: str) -> None:
    await execute(
        "UPDATE job_lease SET leased_until = {} WHERE name = {} AND holder = {}", _now() + LEASE, name, worker
    )


@use_case
async def _finish(name: str, worker: str, run_id: uuid.UUID, result: JobResult | None, error: str) -> None:
    await execute(
        "UPDATE job_run SET finished_at = {}, processed = {}, summary = {}, error = {} WHERE id = {}",
        _now(),
        result.processed if result else 0,
        result.summary if result else "",
        error,
        run_id,
    )
    await execute(
        "UPDATE job_lease SET holder = NULL, leased_until = NULL WHERE name = {} AND holder = {}", name, worker
    )


async def _keep_lease(name: str, worker: str) -> None:
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        await _renew(name, worker)


async def run_job(
    name: str,
    progress: Progress = lambda done, total: None,
    slot: dt.datetime | None = None,
    worker: str = WORKER,
    as_of: dt.datetime | None = None,
) -> RunOutcome:
    """Run job ``name`` now if no other worker is running it (and, for a scheduled ``slot``, if
    the slot was not served yet). The job's own errors are recorded on the run and re-raised.

    ``as_of`` (an aware time) runs it as of that time instead of the real one: what its run at
    that time would have done, e.g. to catch up after downtime, or to try a year of rules in
    seconds. Jobs only ever move forward (expire, release, review what is due by then), so a run
    as of a time before an earlier run's finds nothing left to do and undoes nothing."""
    jobs = hooks().jobs()
    if name not in jobs:
        raise JobNotFound(name=name, known=", ".join(sorted(jobs)))
    if as_of is not None and as_of.tzinfo is None:
        raise ValidationError(field="as_of", reason=Reason("must carry its time zone", "须带时区"))
    now = (as_of or _now()).astimezone(dt.UTC)
    run_id, holder, done = await _take(name, worker, slot, now)
    if run_id is None:
        return RunOutcome(name, held_by=holder, already_done=done)
    keeper = asyncio.create_task(_keep_lease(name, worker))
    result, error = None, ""
    try:
        result = await jobs[name]().run(now, progress)
        return RunOutcome(name, result=result)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await _finish(name, worker, run_id, result, error)


async def last_runs(limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    return await fetch(
        "SELECT name, slot, as_of, worker, started_at, finished_at, processed, summary, error FROM job_run"
        " ORDER BY started_at DESC LIMIT {}",
        limit,
    )


async def latest_runs(looked_at: int = 500) -> dict[str, dict[str, Any]]:
    """Each job's latest run by job name, among the ``looked_at`` latest runs."""
    latest: dict[str, dict[str, Any]] = {}
    for run in await last_runs(looked_at):
        latest.setdefault(run["name"], run)
    return latest
