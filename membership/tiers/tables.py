"""Tier history: every change of a member's tier, with why."""

from piccolo.columns import UUID, BigInt, ForeignKey, OnDelete, Text, Timestamptz, Varchar
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


class PaidMembership(Table, tablename="paid_membership"):
    """A fee paid for a tier for a time (付费会员): ``active`` until ``ends_at``, then ``expired``;
    ``refunded`` when the fee (or its unused part) was given back. A renewal is a new row that
    starts when the previous one ends."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    plan = Varchar(length=32)
    tier = Varchar(length=32)
    fee = BigInt()
    method = Varchar(length=16)
    store_id = UUID(null=True, default=None)
    posting_id = UUID(null=True, default=None)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    status = Varchar(length=10, default="active")
    refunded_amount = BigInt(default=0)
    created_at = Timestamptz()


class TierAssignment(Table, tablename="tier_assignment"):
    """A tier set by hand (手动指定等级) with a reason, until ``ends_at``: a floor the review and
    refunds do not go below meanwhile (a purchase may still lift the member higher). ``ended_at``
    when it was ended early or replaced by another."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    tier = Varchar(length=32)
    reason = Text()
    actor = Varchar(length=100, default="")
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    ended_by = Varchar(length=100, default="")
