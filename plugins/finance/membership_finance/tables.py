"""The pack's tables (all named ``finance_…``; created by the raw-DDL migration in
``piccolo_migrations``, which also adds their unique indexes and checks). Amounts are in fen,
points are whole points, months are ``YYYY-MM`` in the program's time zone."""

from piccolo.columns import UUID, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class MccRule(Table, tablename="finance_mcc_rule"):
    """Points for a merchant category code or a range of them (商户类别码积分规则): the range, a
    name staff read, and the multiplier in percent of the base points (200: double; 0: none)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    mcc_from = Integer()
    mcc_to = Integer()
    name = Varchar(length=50)
    multiplier_pct = Integer()
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()


class Balance(Table, tablename="finance_balance"):
    """A member's monthly average daily balance (月日均资产, fen) as the bank's core system fed it:
    one row per member and month, replaced by a later feed of the same month."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = UUID()
    month = Varchar(length=7)
    balance = BigInt()
    source = Varchar(length=16)
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()


class Feed(Table, tablename="finance_feed"):
    """One feed of monthly balances (a file uploaded in the console or a call of the API): what it
    stored, refused and upgraded."""

    id = UUID(primary_key=True)
    program_id = UUID()
    month = Varchar(length=7)
    source = Varchar(length=16)
    filename = Varchar(length=200, default="")
    lines = Integer()
    stored = Integer()
    refused = Integer()
    upgraded = Integer()
    actor = Varchar(length=100, default="")
    created_at = Timestamptz()


class Statement(Table, tablename="finance_statement"):
    """A member's monthly points statement (积分对账单): opening balance, earned, redeemed, expired,
    adjusted and closing balance of the month, built from the ledger."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = UUID()
    month = Varchar(length=7)
    opening = BigInt()
    earned = BigInt()
    redeemed = BigInt()
    expired = BigInt()
    adjusted = BigInt()
    closing = BigInt()
    built_at = Timestamptz()


class StatementRun(Table, tablename="finance_statement_run"):
    """A month's statements built for a program: when, how many, by whom (the job or a manager)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    month = Varchar(length=7)
    statements = Integer()
    actor = Varchar(length=100, default="")
    built_at = Timestamptz()


TABLES = [MccRule, Balance, Feed, Statement, StatementRun]
