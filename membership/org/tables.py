"""Merchants own programs; stores belong to merchants."""

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table


class Merchant(Table, tablename="merchant"):
    """A business (商户): a shop, a chain, a scenic area, a bank branch network."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    created_at = Timestamptz()


class Store(Table, tablename="store"):
    """A place where members earn and redeem (门店)."""

    id = UUID(primary_key=True)
    merchant_id = ForeignKey(Merchant, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=32)
    name = Varchar(length=200)
    city = Varchar(length=100, default="")
    address = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class Program(Table, tablename="program"):
    """A membership program (会员计划): currency, time zone and points policy of one merchant."""

    id = UUID(primary_key=True)
    merchant_id = ForeignKey(Merchant, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=200)
    currency = Varchar(length=3, default="CNY")
    time_zone = Varchar(length=64, default="Asia/Shanghai")
    points_expiry_days = Integer(null=True, default=None)
    point_value_minor = Integer(default=1)
    stored_value_earns = Boolean(default=True)
    settings = JSON(default="{}")
    created_at = Timestamptz()


class ProgramPlugin(Table, tablename="program_plugin"):
    """A plugin turned on (or off) for one program, with its settings (as its schema says)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    plugin = Varchar(length=100)
    enabled = Boolean(default=False)
    settings = JSON(default="{}")
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()
