"""The outbox's job: deliver what is due (retries after failures, what a crash left behind) and
forget old delivered events."""

from __future__ import annotations

import datetime as dt

from membership.jobs.interface import Job, JobResult, Progress
from membership.outbox.service import deliver_all, purge_delivered

KEPT = dt.timedelta(days=7)


class DeliverEvents(Job):
    name = "deliver-events"
    description = "Deliver events to plugins again after a failure; forget delivered ones after 7 days (事件投递)"
    schedule = "* * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        done = await deliver_all(now)
        purged = await purge_delivered(now - KEPT)
        progress(done.delivered, done.delivered)
        return JobResult(
            done.delivered,
            f"投递 {done.delivered}，失败待重试 {done.failed}，放弃 {done.dead}，清理 {purged}"
            f" / {done.delivered} delivered, {done.failed} to retry, {done.dead} dead, {purged} forgotten",
        )
