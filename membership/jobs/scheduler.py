"""The scheduler inside ``membership serve``: every half minute, each job whose schedule (a cron
expression in the configured time zone) has a slot not yet served runs once, under its lease.

Every web worker runs the loop; the leases and the one-run-per-slot rule make that safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from membership.errors import Reason, ValidationError
from membership.jobs.runner import RunOutcome, run_job
from membership.plugins import hooks

TICK_SECONDS = 30.0
log = logging.getLogger(__name__)


def latest_slot(schedule: str, time_zone: str, now: dt.datetime) -> dt.datetime:
    """The latest time at or before ``now`` that ``schedule`` names, in UTC."""
    try:
        local = now.astimezone(ZoneInfo(time_zone)).replace(second=0, microsecond=0)
        # cronsim in reverse yields times strictly before its start: start one minute later
        slot = next(CronSim(schedule, local + dt.timedelta(minutes=1), reverse=True))
    except (CronSimError, StopIteration) as exc:
        raise ValidationError(
            field="schedule",
            reason=Reason(f"{schedule!r} is not a cron expression", f"{schedule!r} 不是有效的 cron 表达式"),
        ) from exc
    return slot.astimezone(dt.UTC)


async def tick(time_zone: str, now: dt.datetime | None = None) -> list[RunOutcome]:
    """Run every scheduled job whose latest slot has not been served; what each attempt did."""
    now = now or dt.datetime.now(dt.UTC)
    outcomes = []
    for name, job in sorted(hooks().jobs().items()):
        if not job.schedule:
            continue
        slot = latest_slot(job.schedule, time_zone, now)
        try:
            outcomes.append(await run_job(name, slot=slot))
        except Exception:
            log.exception("job %s failed (recorded on its run; the next slot tries again)", name)
    return outcomes


class Scheduler:
    """The loop as a background task of the web app: :meth:`start` on startup, :meth:`stop` on
    shutdown (a job in flight is cancelled; its committed chunks stay, and it resumes later)."""

    def __init__(self, time_zone: str) -> None:
        self.time_zone = time_zone
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin ticking."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop ticking and wait for the loop to end."""
        self._stop.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await tick(self.time_zone)
            except Exception:  # the database may be briefly unreachable: keep the loop alive
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_SECONDS)
