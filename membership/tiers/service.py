"""Tier evaluation after growth changes (the policy itself is the tier-policy hook)."""

from __future__ import annotations

import datetime as dt
import uuid

from membership.db import emit, fetch, fetch_one
from membership.events import Event
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.tiers.policy import TierMetrics


async def metrics(member_id: uuid.UUID, growth: int) -> TierMetrics:
    """The member's tier metrics: growth, lifetime net spend (minor units) and visits (sales)."""
    row = await fetch_one(
        "SELECT COUNT(*) AS visits, CAST(COALESCE(SUM(total - refunded_amount), 0) AS BIGINT) AS spend"
        " FROM sale WHERE member_id = {} AND status <> 'refunded'",
        member_id,
    )
    return TierMetrics(growth=growth, spend=int(row["spend"]), visits=int(row["visits"]))


async def reevaluate(
    program: ProgramConfig, member_id: uuid.UUID, current: str | None, growth: int, now: dt.datetime
) -> str | None:
    """Ask the tier policy which tier the member holds now; store and announce a change."""
    tier = await hooks().tier_for(program, member_id, await metrics(member_id, growth))
    if tier != current:
        await fetch("UPDATE member SET tier = {}, updated_at = {} WHERE id = {}", tier, now, member_id)
        emit(Event("tier.changed", program.id, member_id, {"from": current, "to": tier}))
    return tier
