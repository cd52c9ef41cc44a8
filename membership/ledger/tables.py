"""Accounts, postings and entries (append-only), points lots, idempotency keys.

Every posting's entries sum to zero. Member accounts keep a ``balance`` row updated in the same
transaction as their entries; system (contra) accounts keep none — their balance is the sum of
their entries — so no single hot row serialises every purchase of a program.
"""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program


class Account(Table, tablename="ledger_account"):
    """A balance of one kind (``points``, ``points_debt``, ``stored_value``, ``growth``, or a
    ``system.*`` contra account) for a member or a program."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    kind = Varchar(length=32)
    balance = BigInt(default=0)
    updated_at = Timestamptz()


class Posting(Table, tablename="ledger_posting"):
    """One business event in the ledger (earn, redeem, refund, adjust, expire, top-up, pay)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = UUID(null=True, default=None, index=True)
    kind = Varchar(length=24)
    store_id = UUID(null=True, default=None)
    sale_id = UUID(null=True, default=None, index=True)
    operator = Varchar(length=100, default="")
    reason = Text(default="")
    created_at = Timestamptz()


class Entry(Table, tablename="ledger_entry"):
    """One signed amount on one account; ``rule`` and ``reason`` say why."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the posting's (every table a sale touches carries it)
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict, index=True)
    account_id = ForeignKey(Account, on_delete=OnDelete.restrict, index=True)
    amount = BigInt()
    rule = Varchar(length=64, default="")
    reason = Text(default="")
    store_id = UUID(null=True, default=None)
    created_at = Timestamptz()


class PointsLot(Table, tablename="points_lot"):
    """Points earned together, with one expiry; consumed nearest-expiry first. Lots of a
    ``points_pending`` account wait for ``available_at`` (the return window), then move to the
    member's ``points`` account."""

    id = UUID(primary_key=True)
    program_id = UUID()
    account_id = ForeignKey(Account, on_delete=OnDelete.restrict, index=False)  # points_lot_account (migration)
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict)
    store_id = UUID(null=True, default=None)
    points = BigInt()
    remaining = BigInt()
    expired = BigInt(default=0)
    earned_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    expiry_posting_id = UUID(null=True, default=None)
    available_at = Timestamptz(null=True, default=None)  # pending lots: when they become spendable
    warned_at = Timestamptz(null=True, default=None)  # when the member was told they will expire


class LotConsumption(Table, tablename="points_lot_consumption"):
    """How many points of which lot a posting used (refunds give them back with their expiry)."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the posting's (every table a sale touches carries it)
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict, index=True)
    lot_id = ForeignKey(PointsLot, on_delete=OnDelete.restrict)
    points = BigInt()


class IdempotencyKey(Table, tablename="idempotency_key"):
    """A client's retry key with the stored answer: the same key returns the same response."""

    id = UUID(primary_key=True)
    scope = Varchar(length=64)
    key = Varchar(length=255)
    operation = Varchar(length=64)
    request_hash = Varchar(length=64)
    response = Text(null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)


class PointsRuleRow(Table, tablename="points_rule"):
    """A program's points rule (:class:`membership.ledger.rulebook.PointsRule` as JSON in
    ``definition``); ``code`` is unique in its program. Retired rules stay for the ledger's
    explanations (entries name their rule's code)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    code = Varchar(length=64)
    definition = JSON(default="{}")
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SignIn(Table, tablename="sign_in"):
    """A member's daily sign-in (每日签到): one per local day, with the streak it made and the
    points it earned."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    day = Date()
    streak = Integer()
    points = BigInt(default=0)
    created_at = Timestamptz()


class StoredValueLot(Table, tablename="stored_value_lot"):
    """Stored value paid in (or given as a bonus) together at one store; spent oldest first,
    principal before bonus. The store tells who owes whom when it is spent elsewhere."""

    id = UUID(primary_key=True)
    program_id = UUID()
    account_id = ForeignKey(Account, on_delete=OnDelete.restrict, index=True)
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict)
    store_id = UUID(null=True, default=None)
    amount = BigInt()
    remaining = BigInt()
    created_at = Timestamptz()


class StoredValueConsumption(Table, tablename="stored_value_consumption"):
    """How much of which stored-value lot a posting spent (refunds give it back to the same kind)."""

    id = UUID(primary_key=True)
    program_id = UUID()  # the posting's (every table a sale touches carries it)
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict, index=True)
    lot_id = ForeignKey(StoredValueLot, on_delete=OnDelete.restrict)
    amount = BigInt()


class SettlementEntry(Table, tablename="settlement_entry"):
    """What ``issuer_store`` owes ``redeemer_store`` (财务清算): points or stored value issued at
    one store and spent at another, in minor units; reversals are negative."""

    id = UUID(primary_key=True)
    program_id = UUID()
    posting_id = ForeignKey(Posting, on_delete=OnDelete.restrict, index=True)
    issuer_store_id = UUID()
    redeemer_store_id = UUID()
    kind = Varchar(length=24)
    units = BigInt()
    value = BigInt()
    created_at = Timestamptz(index=True)


class PointsTransfer(Table, tablename="points_transfer"):
    """Points one member gave another of the program (积分转赠): the ``posting`` moved them,
    keeping their expiry; an admin's reversal is a ``reversal_posting`` of its own."""

    id = UUID(primary_key=True)
    program_id = UUID()
    from_member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    to_member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    points = BigInt()
    posting_id = UUID()
    reason = Text(default="")
    actor = Varchar(length=100, default="")
    created_at = Timestamptz()
    reversed_at = Timestamptz(null=True, default=None)
    reversal_posting_id = UUID(null=True, default=None)
    reversed_by = Varchar(length=100, default="")
    reversal_reason = Text(default="")
