"""Built-in jobs: points expiry, pending release and warnings, tier review, paid membership
expiry, retention of idempotency keys, reader reads and inactive members.

Each runs as of the ``now`` it is given: the real time, or the time ``membership jobs run NAME
--at …`` names. What that means for each is in its class docstring; all of them only move
forward, so a run as of a time before an earlier run's finds nothing left and undoes nothing,
and a second run as of the same time changes nothing."""

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
    """As of T: every lot whose expiry is at or before T is written off, its entries dated T.
    Lots due later stay; a lot written off stays written off."""

    name = "expire-points"
    description = "Expire points lots past their expiry date (积分过期)"
    schedule = "10 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_points(now, progress)


class ReleasePendingPoints(Job):
    """As of T: pending lots whose return window closed by T become spendable (dated T)."""

    name = "release-pending-points"
    description = "Make pending points spendable once their return window closed (待生效积分转可用)"
    schedule = "0 * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await release_pending_points(now, progress)


class WarnExpiringPoints(Job):
    """As of T: lots not warned of yet that expire after T and within the program's
    ``warn_days`` of it (each lot is warned of once)."""

    name = "warn-expiring-points"
    description = "Tell members whose points expire soon (event points.expiring; 积分到期提醒)"
    schedule = "0 10 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await warn_expiring_points(now, progress)


class ReviewTiers(Job):
    """As of T: members whose review date is at or before T, measured over the policy's window
    from T − ``window_days`` (activity after T counts too: the tier's metrics have no upper
    bound); their next review is counted from T."""

    name = "review-tiers"
    description = "Review tiers whose period (and grace) ended: keep, drop one or recalculate (等级复核)"
    schedule = "20 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await review_tiers(now, progress)


class ExpirePaidMemberships(Job):
    """As of T: paid memberships that ended at or before T."""

    name = "expire-paid-memberships"
    description = "End paid memberships past their end; members go back to the tier they earn"
    schedule = "25 0 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_paid_memberships(now, progress)


class PurgeIdempotencyKeys(Job):
    """As of T: keys whose retention ended before T (a replay after that earns again)."""

    name = "purge-idempotency-keys"
    description = "Delete idempotency keys past their retention (default 7 days)"
    schedule = "30 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        purged = await use_case(idempotency.purge_expired)(now)
        progress(purged, purged)
        return JobResult(purged, f"删除过期幂等键 {purged} 个 / {purged} expired idempotency keys deleted")


class ApplyRetention(Job):
    """As of T: members with no activity in the ``retention_days`` before T (activity after T
    counts too, so a past time erases no one a later run kept)."""

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
    """As of T: card-reader reads older than 7 days before T."""

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
