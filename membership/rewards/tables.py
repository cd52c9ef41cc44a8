"""Rewards priced in points (积分商城) and their redemptions. Points are whole integers; stock
and per-member limits are counts; dates are inclusive and local to the program's time zone."""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.coupons.tables import Coupon, CouponTemplate
from membership.members.tables import Member
from membership.org.tables import Program


class Reward(Table, tablename="reward"):
    """One reward of a program's catalogue; ``code`` is unique in its program.

    ``kind`` names a registered reward kind (:mod:`membership.rewards.kinds`) and ``params`` its
    fields (JSON). A redemption costs ``points`` and gives a coupon of ``template_id`` (kept by
    the rewards service, ``issue_on`` ``reward``), valid ``coupon_days`` days when redeemed on its
    own. ``stock`` (None: unlimited) never goes below zero; ``member_limit`` redemptions per
    member per ``limit_period`` (``day``, ``week``, ``month``, ``year`` or ``total``; None: no
    limit). Redeemable from ``available_from`` to ``available_until`` (local dates, inclusive;
    None: open) at ``store_ids`` (empty: every store)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=48)
    name = Varchar(length=100)
    description = Text(default="")
    kind = Varchar(length=32)
    params = Text(default="{}")
    points = BigInt()
    stock = BigInt(null=True, default=None)
    member_limit = Integer(null=True, default=None)
    limit_period = Varchar(length=8, default="total")
    available_from = Date(null=True, default=None)
    available_until = Date(null=True, default=None)
    store_ids = JSON(default="[]")
    coupon_days = Integer(default=30)
    stackable = Boolean(default=False)
    template_id = ForeignKey(CouponTemplate, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RewardRedemption(Table, tablename="reward_redemption"):
    """One reward redeemed by a member (one unit), for ``points`` debited by ``posting_id``, with
    the coupon it gave. ``sale_id``: the sale it was redeemed in (its coupon used there), None
    when redeemed on its own. ``state``: ``redeemed``, ``cancelled`` (on its own, coupon unused)
    or ``refunded`` (its sale was refunded): the points and the stock went back."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    reward_id = ForeignKey(Reward, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    store_id = UUID(null=True, default=None)
    sale_id = UUID(null=True, default=None)
    posting_id = UUID()
    coupon_id = ForeignKey(Coupon, on_delete=OnDelete.restrict)
    points = BigInt()
    state = Varchar(length=10, default="redeemed")
    actor = Varchar(length=100, default="")
    created_at = Timestamptz()
    changed_at = Timestamptz()
