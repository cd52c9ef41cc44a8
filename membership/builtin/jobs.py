"""Built-in jobs: points expiry and idempotency-key retention."""

from __future__ import annotations

import datetime as dt

from membership.coupons.jobs import ExpireCoupons, GrantBirthdayCoupons
from membership.db import use_case
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job, JobResult, Progress
from membership.ledger import idempotency
from membership.ledger.expiry import expire_points
from membership.ledger.pending import release_pending_points, warn_expiring_points
from membership.members.rights import apply_retention
from membership.org.service import list_programs
from membership.readers.service import prune_reads
from membership.tiers.paid import expire_paid_memberships
from membership.tiers.service import review_tiers

READER_READS_KEPT = dt.timedelta(days=7)


class ExpirePoints(Job):
    name = "expire-points"
    description = "Expire points lots past their expiry date (积分过期)"
    schedule = "10 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_points(now, progress)


class ReleasePendingPoints(Job):
    name = "release-pending-points"
    description = "Make pending points spendable once their return window closed (待生效积分转可用)"
    schedule = "0 * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await release_pending_points(now, progress)


class WarnExpiringPoints(Job):
    name = "warn-expiring-points"
    description = "Tell members whose points expire soon (event points.expiring; 积分到期提醒)"
    schedule = "0 10 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await warn_expiring_points(now, progress)


class ReviewTiers(Job):
    name = "review-tiers"
    description = "Review tiers whose period (and grace) ended: keep, drop one or recalculate (等级复核)"
    schedule = "20 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await review_tiers(now, progress)


class ExpirePaidMemberships(Job):
    name = "expire-paid-memberships"
    description = "End paid memberships past their end; members go back to the tier they earn"
    schedule = "25 0 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_paid_memberships(now, progress)


class PurgeIdempotencyKeys(Job):
    name = "purge-idempotency-keys"
    description = "Delete idempotency keys past their retention (default 7 days)"
    schedule = "30 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        purged = await use_case(idempotency.purge_expired)(now)
        progress(purged, purged)
        return JobResult(purged, f"删除过期幂等键 {purged} 个 / {purged} expired idempotency keys deleted")


class ApplyRetention(Job):
    name = "apply-retention"
    description = "Erase members inactive longer than the program's retention_days (个人信息保存期限)"
    schedule = "50 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        erased = kept = 0
        for program in await list_programs():
            if program.retention_days is not None:
                result = await apply_retention(program.id, program.retention_days, now)
                erased, kept = erased + result.erased, kept + result.kept_for_stored_value
        progress(erased, erased)
        return JobResult(
            erased,
            f"注销长期未活跃会员 {erased} 位（{kept} 位因有储值余额保留）"
            f" / {erased} inactive members erased ({kept} kept: they hold stored value)",
        )


class PruneReaderReads(Job):
    name = "prune-reader-reads"
    description = "Delete card-reader reads older than 7 days (they only serve counter screens)"
    schedule = "40 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        pruned = await prune_reads(now - READER_READS_KEPT)
        progress(pruned, pruned)
        return JobResult(pruned, f"删除读卡记录 {pruned} 条 / {pruned} reader reads deleted")


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """Points expiry, pending release and expiry warnings, tier review, paid membership expiry,
    idempotency-key and reader-read retention, members' retention period."""
    return [
        ExpirePoints,
        ReleasePendingPoints,
        WarnExpiringPoints,
        ReviewTiers,
        ExpirePaidMemberships,
        PurgeIdempotencyKeys,
        PruneReaderReads,
        ApplyRetention,
        ExpireCoupons,
        GrantBirthdayCoupons,
    ]
