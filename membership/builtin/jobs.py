"""Built-in jobs: points expiry and idempotency-key retention."""

from __future__ import annotations

import datetime as dt

from membership.db import use_case
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job, JobResult, Progress
from membership.ledger import idempotency
from membership.ledger.expiry import expire_points


class ExpirePoints(Job):
    name = "expire-points"
    description = "Expire points lots past their expiry date (积分过期)"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_points(now, progress)


class PurgeIdempotencyKeys(Job):
    name = "purge-idempotency-keys"
    description = "Delete idempotency keys past their retention (default 7 days)"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        purged = await use_case(idempotency.purge_expired)(now)
        progress(purged, purged)
        return JobResult(purged, f"{purged} expired idempotency keys deleted")


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``expire-points`` and ``purge-idempotency-keys``."""
    return [ExpirePoints, PurgeIdempotencyKeys]
