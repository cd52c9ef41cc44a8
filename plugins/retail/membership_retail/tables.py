"""The pack's tables (prefixed ``retail_``), created by its own raw-DDL migration.

Amounts are integers in the program currency's minor unit (fen); list columns are JSON text.
"""

from piccolo.columns import UUID, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Product(Table, tablename="retail_product"):
    """The product catalogue (商品档案): one row per SKU and program."""

    id = UUID(primary_key=True)
    program_id = UUID()
    sku = Varchar(length=64)
    name = Varchar(length=200, default="")
    category = Varchar(length=64, default="")
    brand = Varchar(length=64, default="")
    updated_at = Timestamptz()


class MemberPrice(Table, tablename="retail_member_price"):
    """A member price (会员价): for a SKU (a fixed ``price`` or a ``percent`` of the listed price)
    or a category (a ``percent``), for one tier or, with ``tier`` empty, every member."""

    id = UUID(primary_key=True)
    program_id = UUID()
    scope = Varchar(length=10)  # sku | category
    target = Varchar(length=64)
    tier = Varchar(length=32, default="")
    price = BigInt(null=True, default=None)
    percent = Integer(null=True, default=None)
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()


class PointsRule(Table, tablename="retail_points_rule"):
    """Extra points per yuan on lines of some brands, categories or SKUs, except the excluded ones."""

    id = UUID(primary_key=True)
    program_id = UUID()
    name = Varchar(length=100)
    brands = Text(default="[]")
    categories = Text(default="[]")
    skus = Text(default="[]")
    exclude_brands = Text(default="[]")
    exclude_categories = Text(default="[]")
    exclude_skus = Text(default="[]")
    points_per_yuan = Integer()
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    active = Boolean(default=True)
    updated_at = Timestamptz()


class Receipt(Table, tablename="retail_receipt"):
    """A receipt a till sent without a member: what a member may claim points for later."""

    id = UUID(primary_key=True)
    program_id = UUID()
    store_id = UUID()
    receipt_no = Varchar(length=64)
    occurred_at = Timestamptz()
    total = BigInt()
    lines = Text(default="[]")
    created_at = Timestamptz()


class Claim(Table, tablename="retail_claim"):
    """A receipt claimed by a member (补录积分): one per receipt, with the sale it became."""

    id = UUID(primary_key=True)
    program_id = UUID()
    receipt_id = UUID(unique=True)
    member_id = UUID()
    sale_id = UUID(null=True, default=None)
    points_earned = BigInt(default=0)
    actor = Varchar(length=100, default="")
    claimed_at = Timestamptz()


class Cycle(Table, tablename="retail_cycle"):
    """A member's purchase cycle in a category (购买周期), computed by the repurchase job."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = UUID()
    category = Varchar(length=64)
    purchases = Integer()
    cycle_days = Integer()
    last_bought_on = Date()
    due_on = Date()
    computed_at = Timestamptz()


class Reminder(Table, tablename="retail_reminder"):
    """A repurchase reminder sent: one per member, category and due date (once per cycle)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = UUID()
    category = Varchar(length=64)
    due_on = Date()
    created_at = Timestamptz()
