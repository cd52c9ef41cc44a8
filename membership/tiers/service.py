"""Tier evaluation after growth changes (the policy itself is the tier-policy hook)."""

from __future__ import annotations

import datetime as dt
import uuid

from membership.db import emit, fetch
from membership.events import Event
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.tiers.policy import TierMetrics


async def reevaluate(
    program: ProgramConfig, member_id: uuid.UUID, current: str | None, metrics: TierMetrics, now: dt.datetime
) -> str | None:
    """Ask the tier policy which tier the member holds now; store and announce a change."""
    tier = await hooks().tier_for(program, member_id, metrics)
    if tier != current:
        await fetch("UPDATE member SET tier = {}, updated_at = {} WHERE id = {}", tier, now, member_id)
        emit(Event("tier.changed", program.id, member_id, {"from": current, "to": tier}))
    return tier
