"""Sales with lines and payments; refunds are rows of their own, never edits of amounts."""

from piccolo.columns import JSON, UUID, BigInt, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program, Store


class Sale(Table, tablename="sale"):
    """A purchase by a member at a store. ``receipt_no`` is unique per store when given.

    ``subtotal`` is the lines' listed total, ``discount`` what member prices (``member_discount``)
    and coupons took off it, ``total`` what the member pays (``subtotal - discount``; the payments
    add up to it)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    store_id = ForeignKey(Store, on_delete=OnDelete.restrict)
    receipt_no = Varchar(length=64, null=True, default=None)
    occurred_at = Timestamptz(index=True)
    total = BigInt()
    subtotal = BigInt(default=0)
    discount = BigInt(default=0)
    member_discount = BigInt(default=0)  # the part of discount member prices took off (会员价)
    points_earned = BigInt(default=0)
    points_redeemed = BigInt(default=0)
    growth_earned = BigInt(default=0)
    refunded_amount = BigInt(default=0)
    status = Varchar(length=20, default="completed")
    attributes = Text(default="{}")  # JSON: what the till said about the sale (meal period, party size…)
    created_at = Timestamptz()


class SaleLine(Table, tablename="sale_line"):
    """One line of a sale: amounts in minor units. ``unit_price`` is the listed price,
    ``member_price`` the price the member paid when a member price applied (else None), ``amount``
    what the line cost the member."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the sale's (every table a sale touches carries it)
    sale_id = ForeignKey(Sale, on_delete=OnDelete.restrict, index=True)
    line_no = Integer()
    sku = Varchar(length=64)
    name = Varchar(length=200, default="")
    category = Varchar(length=64, default="")
    quantity = Integer()
    unit_price = BigInt()
    member_price = BigInt(null=True, default=None)
    amount = BigInt()
    refunded_quantity = Integer(default=0)
    brand = Varchar(length=64, default="")
    labels = Text(default="[]")  # JSON list


class SalePayment(Table, tablename="sale_payment"):
    """How a sale was paid: cash, card, stored_value or points (``points`` spent for ``amount``)."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the sale's (every table a sale touches carries it)
    sale_id = ForeignKey(Sale, on_delete=OnDelete.restrict, index=True)
    method = Varchar(length=16)
    amount = BigInt()
    points = BigInt(default=0)


class Refund(Table, tablename="sale_refund"):
    """A whole or partial refund and what it reversed."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the sale's (every table a sale touches carries it)
    sale_id = ForeignKey(Sale, on_delete=OnDelete.restrict, index=True)
    amount = BigInt()
    lines = JSON(default="[]")
    points_reversed = BigInt(default=0)
    points_debt = BigInt(default=0)
    points_expired = BigInt(default=0)  # earned points that had expired: not taken back
    points_returned = BigInt(default=0)
    growth_reversed = BigInt(default=0)
    stored_value_returned = BigInt(default=0)
    created_at = Timestamptz()
