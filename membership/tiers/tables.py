"""Tier history: every change of a member's tier, with why."""

from piccolo.columns import UUID, BigInt, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member


class TierChange(Table, tablename="tier_change"):
    """``member`` went from ``from_tier`` to ``to_tier`` (None = no tier) because of ``reason``:
    ``upgrade``, ``renewal`` (kept for another period), ``downgrade``, ``paid`` or ``paid_expired``;
    ``metric`` is the policy's metric value at that moment."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    from_tier = Varchar(length=32, null=True, default=None)
    to_tier = Varchar(length=32, null=True, default=None)
    reason = Varchar(length=16)
    metric = BigInt(default=0)
    created_at = Timestamptz()
