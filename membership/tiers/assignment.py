"""Tiers set by hand (手动指定等级): staff give a member a tier, with a reason, until a date.

The member holds the tier at once (up or down from the one they had; the change is in the tier
history as ``manual``) and their review waits for the end date: until then the tier is a floor
that neither the ``review-tiers`` job, a refund nor the end of a paid membership goes below,
while a purchase may still lift them higher (:func:`membership.tiers.service.floors`). At the
end date the review decides as the policy says (kept when they qualify, else down). A new
assignment replaces the member's current one; ending one early lets the next review decide.
Every assignment and its end are audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.errors import Reason, TierAssignmentNotFound, ValidationError
from membership.members.service import active_member
from membership.org.service import get_program
from membership.tiers.policy import tier_config
from membership.tiers.service import Change, apply_changes, metrics, rank

LONGEST = dt.timedelta(days=5 * 366)  # how far ahead an assignment may end


@dataclasses.dataclass(frozen=True)
class TierAssignment:
    """A tier set by hand: which, why, by whom, from when until when (``ended_at`` when it was
    ended early or replaced)."""

    id: uuid.UUID
    member_id: uuid.UUID
    tier: str
    reason: str
    actor: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    ended_at: dt.datetime | None = None


def _view(row: dict[str, Any]) -> TierAssignment:
    return TierAssignment(
        row["id"],
        row["member_id"],
        row["tier"],
        row["reason"],
        row["actor"],
        row["starts_at"],
        row["ends_at"],
        row["ended_at"],
    )


async def _current_row(member_id: uuid.UUID, now: dt.datetime) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT * FROM tier_assignment WHERE member_id = {} AND ended_at IS NULL AND ends_at > {}"
        " ORDER BY starts_at DESC LIMIT 1",
        member_id,
        now,
    )


async def current_assignment(member_id: uuid.UUID, now: dt.datetime | None = None) -> TierAssignment | None:
    """The member's tier set by hand that holds now, or None."""
    row = await _current_row(member_id, now or dt.datetime.now(dt.UTC))
    return _view(row) if row else None


async def _end(program_id: uuid.UUID, member_id: uuid.UUID, now: dt.datetime, actor: str) -> int:
    ended = await fetch(
        "UPDATE tier_assignment SET ended_at = {}, ended_by = {} WHERE program_id = {} AND member_id = {}"
        " AND ended_at IS NULL AND ends_at > {} RETURNING id",
        now,
        actor,
        program_id,
        member_id,
        now,
    )
    return len(ended)


@use_case
async def assign_tier(
    member_id: uuid.UUID,
    tier: str,
    ends_at: dt.datetime,
    reason: str,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> TierAssignment:
    """Give the member ``tier`` until ``ends_at`` (see the module); ``reason`` is required."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationError(field="reason", reason=Reason("1 to 200 characters", "须填写原因（最多 200 个字符）"))
    now = now or dt.datetime.now(dt.UTC)
    if ends_at.tzinfo is None:
        raise ValidationError(field="ends_at", reason=Reason("needs a time zone offset", "须带时区偏移"))
    if not now < ends_at <= now + LONGEST:
        raise ValidationError(
            field="ends_at", reason=Reason("after now, at most five years ahead", "须晚于现在，且不超过五年")
        )
    row = await active_member(member_id, lock=True)
    program = await get_program(row["program_id"])
    config = tier_config(program.settings)
    if rank(config, tier) < 0:
        known = ", ".join(t.code for t in config.tiers) or "-"
        raise ValidationError(
            field="tier", reason=Reason(f"not a tier of the program ({known})", f"不是本方案的等级（{known}）")
        )
    await _end(program.id, member_id, now, actor)
    assignment_id = new_id()
    await fetch(
        "INSERT INTO tier_assignment (id, program_id, member_id, tier, reason, actor, starts_at, ends_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        *(assignment_id, program.id, member_id, tier, reason, actor, now, ends_at),
    )
    if row["tier"] != tier:
        found = await metrics(program, member_id, now)
        change = Change(member_id, row["tier"], tier, "manual", found.value(config.policy.metric))
        await apply_changes(program, [change], now)
    await fetch(  # no review before
        "UPDATE member SET tier_review_at = {} WHERE program_id = {} AND id = {}", ends_at, program.id, member_id
    )
    details = {"tier": tier, "from": row["tier"], "ends_at": ends_at.isoformat(), "reason": reason}
    await audit.record(actor, "tier.assign", "member", member_id, program.id, details)
    return TierAssignment(assignment_id, member_id, tier, reason, actor, now, ends_at)


@use_case
async def end_assignment(member_id: uuid.UUID, actor: str = "system", reason: str = "") -> None:
    """End the member's tier set by hand now: the tier stays until the next ``review-tiers`` run
    decides as the policy says. ``TierAssignmentNotFound`` when none holds."""
    row = await active_member(member_id, lock=True)
    now = dt.datetime.now(dt.UTC)
    if not await _end(row["program_id"], member_id, now, actor):
        raise TierAssignmentNotFound(member_id=member_id)
    await fetch(
        "UPDATE member SET tier_review_at = {} WHERE program_id = {} AND id = {}", now, row["program_id"], member_id
    )
    await audit.record(actor, "tier.assign_end", "member", member_id, row["program_id"], {"reason": reason})
