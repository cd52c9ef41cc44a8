"""Promotions at the till (促销活动) and their uses by sales. Amounts are minor units (fen);
dates are inclusive and local to the program's time zone."""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program


class Promotion(Table, tablename="promotion"):
    """One automatic promotion of a program; ``code`` is unique in its program.

    ``kind`` names a registered promotion kind (:mod:`membership.promotions.kinds`) and ``params``
    its fields (JSON); ``conditions`` are the conditions points rules take (which lines: SKU,
    category, brand, label; minimum quantity; a code typed at the till) and ``min_amount`` the
    least the selected lines must come to. ``stackable`` promotions combine with each other; one
    that is not applies alone. ``till_code``: when set, the promotion applies only when the
    cashier types it (``promotion_codes``). ``member_limit`` uses per member and ``total_limit``
    uses in all (None: no limit); ``used_count`` counts the uses not given back by a refund and
    never passes ``total_limit``; sales keep it only while there is a limit in all (a sale of an
    unlimited promotion leaves its row alone, so parallel sales never queue on it: its uses are
    counted from ``promotion_use``), and a change of the terms sets it to the uses so far. Valid
    from ``valid_from`` to ``valid_until`` (local dates, inclusive; None: open) at ``store_ids``
    (empty: every store)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=48)
    name = Varchar(length=100)
    description = Text(default="")
    kind = Varchar(length=32)
    params = Text(default="{}")
    conditions = Text(default="[]")
    min_amount = BigInt(default=0)
    stackable = Boolean(default=False)
    till_code = Varchar(length=32, null=True, default=None)
    member_limit = Integer(null=True, default=None)
    total_limit = BigInt(null=True, default=None)
    used_count = BigInt(default=0)
    valid_from = Date(null=True, default=None)
    valid_until = Date(null=True, default=None)
    store_ids = JSON(default="[]")
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PromotionUse(Table, tablename="promotion_use"):
    """A promotion applied to a sale, by ``member_id``, taking ``discount`` off; ``returned_at``
    is set when the refund of the whole sale gives the use back."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    promotion_id = ForeignKey(Promotion, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    sale_id = UUID()
    store_id = UUID()
    discount = BigInt()
    created_at = Timestamptz()
    returned_at = Timestamptz(null=True, default=None)
