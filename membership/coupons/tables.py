"""Coupon templates (券模板) and the coupons issued from them. Amounts are minor units (fen);
validity dates are inclusive and local to the program's time zone."""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program
from membership.sales.tables import Sale


class CouponTemplate(Table, tablename="coupon_template"):
    """What a coupon gives and when it may be used; ``code`` is unique in its program.

    ``kind`` is ``amount_off`` (``amount_off``), ``percent_off`` (``percent_off`` 1..100, capped
    by ``max_off``) or ``free_item`` (one unit of ``free_sku``). Coupons run from
    ``valid_from``/``valid_until`` or for ``valid_days`` from their issue (the earlier end wins
    when both are set). ``issue_on`` is the trigger that issues it (``manual``, ``birthday``,
    ``tier_upgrade`` with ``tier``, ``sign_up``, ``referral``, ``purchase`` with ``issue_min_spend`` and
    ``issue_conditions``). ``store_ids`` empty means every
    store of the merchant."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=64)
    name = Varchar(length=100)
    kind = Varchar(length=16)
    amount_off = BigInt(default=0)
    percent_off = Integer(default=0)
    max_off = BigInt(null=True, default=None)
    free_sku = Varchar(length=64, null=True, default=None)
    min_spend = BigInt(default=0)
    valid_from = Date(null=True, default=None)
    valid_until = Date(null=True, default=None)
    valid_days = Integer(null=True, default=None)
    per_member_limit = Integer(null=True, default=None)
    store_ids = JSON(default="[]")
    stackable = Boolean(default=False)
    issue_on = Varchar(length=16, default="manual")
    tier = Varchar(length=32, null=True, default=None)
    birthday_window = Varchar(length=8, default="day")
    issue_min_spend = BigInt(default=0)  # issue_on purchase: what the purchase must reach
    issue_conditions = Text(default="[]")  # issue_on purchase: conditions as points rules have (JSON)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Coupon(Table, tablename="coupon"):
    """One coupon held by a member. ``code`` (12 characters without 0/O/1/I) is unique;
    ``state`` is ``issued``, ``redeemed``, ``expired`` or ``void``. ``occasion`` names the
    trigger occurrence that issued it (``sign_up``, ``birthday:2026`` …), unique per template and
    member, so a trigger fired twice issues once. ``sale_id``, ``store_id``, ``discount`` and
    ``redeemed_at`` describe the redemption while the coupon is ``redeemed``."""

    id = UUID(primary_key=True)
    template_id = ForeignKey(CouponTemplate, on_delete=OnDelete.restrict)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=16)
    state = Varchar(length=10, default="issued")
    occasion = Varchar(length=100, null=True, default=None)
    issued_by = Varchar(length=100, default="")
    issued_at = Timestamptz()
    valid_from = Date()
    valid_until = Date()
    redeemed_at = Timestamptz(null=True, default=None)
    sale_id = ForeignKey(Sale, on_delete=OnDelete.restrict, null=True, default=None)
    store_id = UUID(null=True, default=None)
    discount = BigInt(default=0)
    changed_at = Timestamptz()
