"""Ledger use cases: points, points debt, stored value and growth.

Writing rules, kept by every function here:

* a posting's entries sum to zero (a member account against a ``system.*`` contra account);
* a member balance moves only by a conditional ``UPDATE … RETURNING`` in the same transaction
  as its entries, and never below zero (``points_debt`` is the one account that goes negative);
* points live in lots; the points balance always equals the lots' remaining points; lots are
  consumed nearest expiry first, then oldest, never-expiring last, by one set-based statement.

Balances shown to a till or an app count only what can be spent now: points in lots past their
expiry that the ``expire-points`` job has not written off yet are left out
(:attr:`MemberAccounts.due`), while the stored balance stays the sum of the entries until the
job (or the next spending, :func:`lock_points`) writes the expiry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import emit, fetch, fetch_one, fetch_page, is_sqlite, new_id, placeholders, use_case
from membership.errors import InsufficientPoints, InsufficientStoredValue, Reason, RedemptionNotAllowed, ValidationError
from membership.events import Event
from membership.ledger import idempotency
from membership.ledger.accounts import Kind
from membership.ledger.policy import points_policy
from membership.ledger.rules import Award, PointsExpiry, RedeemContext
from membership.ledger.top_up_plans import plan_bonus
from membership.members.service import active_member
from membership.org.service import ProgramConfig, check_store, get_program
from membership.plugins import hooks

DEBT_REPAYMENT = "debt_repayment"


@dataclasses.dataclass(frozen=True)
class Balances:
    """A member's balances: points, points debt (≤ 0), stored value principal (minor units),
    growth; points still pending (not yet spendable) and stored-value bonus (spent last)."""

    points: int
    points_debt: int
    stored_value: int
    growth: int
    points_pending: int = 0
    stored_value_bonus: int = 0


@dataclasses.dataclass(frozen=True)
class PointsResult:
    """What a redemption or adjustment did."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    points: int
    balances: Balances
    replayed: bool = False


@dataclasses.dataclass(frozen=True)
class TopUpResult:
    """What a stored-value top-up did."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount: int
    balances: Balances
    replayed: bool = False
    bonus: int = 0


MAX_AMOUNT = 10_000_000_000
"""The most one amount may be (100 million yuan in fen): a sale, a line, a payment, a top-up.
Far inside a 64-bit integer, so no sum of them overflows a column."""


def require_amount(field: str, value: Any, minimum: int = 1) -> int:
    """An integer amount from ``minimum`` to :data:`MAX_AMOUNT` (booleans and floats refused:
    money is never a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            field=field, reason=Reason("must be a whole number (minor units)", "须为整数（以最小货币单位计）")
        )
    if value < minimum:
        raise ValidationError(field=field, reason=Reason(f"must be at least {minimum}", f"至少为 {minimum}"))
    if value > MAX_AMOUNT:
        raise ValidationError(field=field, reason=Reason(f"must be at most {MAX_AMOUNT}", f"至多为 {MAX_AMOUNT}"))
    return value


@dataclasses.dataclass(frozen=True)
class ExpiringPoints:
    """Spendable points that expire soon: ``points`` expire within ``days`` days (the program's
    ``warn_days``, else :data:`EXPIRING_DAYS`); ``next_at`` is the next time any of the member's
    points expire (None: none will)."""

    points: int
    days: int
    next_at: dt.datetime | None


EXPIRING_DAYS = 30
"""How far ahead "expiring soon" looks when the program warns of nothing (``warn_days`` 0)."""

# A member's accounts, with what their points lots hold as of a time: points past their expiry
# (``due``: not spendable, though the expiry job has not written them off yet), expiring soon,
# and the next expiry. One statement: the lots are those of the member's points account with
# points left (PostgreSQL's partial index points_lot_account; SQLite stores lots by account),
# summed into one row that every account row carries (the points row's is read).
_ACCOUNTS = (
    "SELECT a.id, a.kind, a.balance, x.due, x.soon, x.next_at FROM ledger_account a, (SELECT"
    " CAST(COALESCE(SUM(CASE WHEN l.expires_at <= {} THEN l.remaining ELSE 0 END), 0) AS BIGINT) AS due,"
    " CAST(COALESCE(SUM(CASE WHEN l.expires_at > {} AND l.expires_at <= {} THEN l.remaining ELSE 0 END), 0)"
    " AS BIGINT) AS soon, MIN(CASE WHEN l.expires_at > {} THEN l.expires_at END) AS next_at FROM points_lot l"
    " WHERE l.program_id = {} AND l.account_id = (SELECT p.id FROM ledger_account p WHERE p.program_id = {}"
    " AND p.member_id = {} AND p.kind = 'points') AND l.remaining > 0 AND l.expires_at IS NOT NULL) AS x"
    " WHERE a.program_id = {} AND a.member_id = {}"
)


def _moment(value: Any) -> dt.datetime | None:
    """A time an aggregate returned: SQLite gives the stored text (no column type to convert by)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def expiring_days(program: ProgramConfig) -> int:
    """How many days ahead "expiring soon" looks for the program (its ``warn_days``, or 30)."""
    return points_policy(program.settings, program.points_expiry_days).warn_days or EXPIRING_DAYS


class MemberAccounts:
    """A member's four accounts (ids and balances as last read or written), read as of ``now``.

    ``due`` is what the points account holds in lots past their expiry that the expiry job has not
    written off yet: :meth:`balances` leaves it out, so every balance a till or an app sees is
    spendable. ``expiring`` is as loaded (spending does not update it)."""

    def __init__(
        self,
        program: ProgramConfig,
        member_id: uuid.UUID,
        rows: list[dict[str, Any]],
        now: dt.datetime | None = None,
    ) -> None:
        self.program = program
        self.member_id = member_id
        self.now = now or dt.datetime.now(dt.UTC)
        self.ids = {Kind(row["kind"]): row["id"] for row in rows}
        self.balance = {Kind(row["kind"]): row["balance"] for row in rows}
        points = next((row for row in rows if row["kind"] == Kind.POINTS.value), {})
        self.due = int(points.get("due") or 0)
        days = expiring_days(program)
        self.expiring = ExpiringPoints(int(points.get("soon") or 0), days, _moment(points.get("next_at")))
        self._credits: dict[Kind, int] = {}  # queued by credit_later, written by settle

    @classmethod
    async def load(cls, program: ProgramConfig, member_id: uuid.UUID, now: dt.datetime | None = None) -> MemberAccounts:
        """Read the member's accounts and what their points lots hold as of ``now`` (default: the
        real time), in one statement."""
        now = now or dt.datetime.now(dt.UTC)
        soon = now + dt.timedelta(days=expiring_days(program))
        rows = await fetch(_ACCOUNTS, now, now, soon, now, program.id, program.id, member_id, program.id, member_id)
        return cls(program, member_id, rows, now)

    async def read_due(self) -> int:
        """Read again what lots past their expiry hold (after another transaction, the expiry job,
        moved the points balance since it was read)."""
        row = await fetch_one(
            "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) AS due FROM points_lot"
            " WHERE program_id = {} AND account_id = {} AND remaining > 0 AND expires_at <= {}",
            self.program.id,
            self.ids[Kind.POINTS],
            self.now,
        )
        self.due = int(row["due"])
        return self.due

    def spendable_points(self) -> int:
        """The points that can be spent now: the balance without lots past their expiry."""
        return self.balance[Kind.POINTS] - self.due

    def balances(self) -> Balances:
        """The balances as a value: spendable points (lots past their expiry left out)."""
        if self._credits:
            raise RuntimeError("credits queued with credit_later were not settled")
        return Balances(
            points=self.spendable_points(),
            points_debt=self.balance[Kind.POINTS_DEBT],
            stored_value=self.balance[Kind.STORED_VALUE],
            growth=self.balance[Kind.GROWTH],
            points_pending=self.balance[Kind.POINTS_PENDING],
            stored_value_bonus=self.balance[Kind.STORED_VALUE_BONUS],
        )

    async def lock(self, kind: Kind) -> int:
        """Lock one account for the rest of the transaction and return its fresh balance."""
        suffix = "" if is_sqlite() else " FOR NO KEY UPDATE"  # SQLite: BEGIN IMMEDIATE already locks
        row = await fetch_one(
            f"SELECT balance FROM ledger_account WHERE program_id = {{}} AND id = {{}}{suffix}",
            self.program.id,
            self.ids[kind],
        )
        await self._moved(kind, row["balance"], self.balance[kind])
        self.balance[kind] = row["balance"]
        return row["balance"]

    async def change(self, kind: Kind, delta: int, now: dt.datetime) -> bool:
        """Move a balance by ``delta``; False (and nothing written) when it would overdraw."""
        guard = "" if delta >= 0 or kind is Kind.POINTS_DEBT else " AND balance >= {}"
        args: list[Any] = [delta, now, self.program.id, self.ids[kind]] + ([-delta] if guard else [])
        row = await fetch_one(
            "UPDATE ledger_account SET balance = balance + {}, updated_at = {} WHERE program_id = {} AND id = {}"
            f"{guard}"
            " RETURNING balance",
            *args,
        )
        if row is None:
            return False
        await self._moved(kind, row["balance"], self.balance[kind] + delta)
        self.balance[kind] = row["balance"]
        return True

    def credit_later(self, kind: Kind, delta: int) -> None:
        """Queue a credit (``delta`` ≥ 0; a repayment on the debt account) that :meth:`settle`
        writes with the others: credits cannot overdraw, so a purchase's points and growth move in
        one statement. Debits stay with :meth:`change`, whose guard refuses an overdraft."""
        if delta < 0:
            raise ValueError("credit_later takes credits; debit with change()")
        self._credits[kind] = self._credits.get(kind, 0) + delta

    async def settle(self, now: dt.datetime) -> None:
        """Write the queued credits in one ``UPDATE … RETURNING`` and take the fresh balances."""
        credits = {kind: delta for kind, delta in self._credits.items() if delta}
        self._credits.clear()
        if not credits:
            return
        cases = " ".join("WHEN id = {} THEN CAST({} AS BIGINT)" for _ in credits)  # Citus: not CASE id WHEN
        args: list[Any] = [value for kind, delta in credits.items() for value in (self.ids[kind], delta)]
        rows = await fetch(
            f"UPDATE ledger_account SET balance = balance + CASE {cases} END, updated_at = {{}}"
            f" WHERE program_id = {{}} AND id IN ({placeholders(credits)}) RETURNING id, balance",
            *args,
            now,
            self.program.id,
            *(self.ids[kind] for kind in credits),
        )
        kinds = {str(self.ids[kind]): kind for kind in credits}
        for row in rows:
            kind = kinds[str(row["id"])]
            await self._moved(kind, row["balance"], self.balance[kind] + credits[kind])
            self.balance[kind] = row["balance"]

    async def _moved(self, kind: Kind, fresh: int, expected: int) -> None:
        """When another transaction moved the points balance since it was read (the expiry job
        writing off lots past their expiry), what is due was read before it: read it again. This
        statement comes after the account's row lock was taken, so it sees that transaction."""
        if kind is Kind.POINTS and fresh != expected and self.due:
            await self.read_due()


_system_ids: dict[tuple[uuid.UUID, Kind], uuid.UUID] = {}


async def system_account(program_id: uuid.UUID, kind: Kind) -> uuid.UUID:
    """The id of a program's contra account (created with the program, never changes)."""
    cache_key = (program_id, kind)
    if cache_key not in _system_ids:
        row = await fetch_one(
            "SELECT id FROM ledger_account WHERE program_id = {} AND member_id IS NULL AND kind = {}",
            program_id,
            kind.value,
        )
        _system_ids[cache_key] = row["id"]
    return _system_ids[cache_key]


class PostingWriter:
    """Collects the entries of one posting and writes them in one statement."""

    def __init__(
        self,
        program: ProgramConfig,
        kind: str,
        member_id: uuid.UUID | None,
        now: dt.datetime,
        store_id: uuid.UUID | None = None,
        sale_id: uuid.UUID | None = None,
        operator: str = "",
        reason: str = "",
        posting_id: uuid.UUID | None = None,
    ) -> None:
        self.id = posting_id or new_id()
        self.program, self.kind, self.member_id, self.now = program, kind, member_id, now
        self.store_id, self.sale_id, self.operator, self.reason = store_id, sale_id, operator, reason
        self.entries: list[tuple[uuid.UUID, int, str, str]] = []

    async def open(self) -> PostingWriter:
        """Insert the posting row (lots and consumptions reference it)."""
        await fetch(
            "INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason,"
            " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
            self.id,
            self.program.id,
            self.member_id,
            self.kind,
            self.store_id,
            self.sale_id,
            self.operator,
            self.reason,
            self.now,
        )
        return self

    def add(self, account_id: uuid.UUID, amount: int, rule: str = "", reason: str = "") -> None:
        """Queue one entry."""
        if amount:
            self.entries.append((account_id, amount, rule, reason))

    async def contra(self, kind: Kind, amount: int, rule: str = "", reason: str = "") -> None:
        """Queue an entry on the program's contra account ``kind``."""
        self.add(await system_account(self.program.id, kind), amount, rule, reason)

    async def close(self, written: int = 0) -> None:
        """Write the queued entries; refuses a posting that does not balance. ``written`` is the
        sum of entries a set-based statement already wrote for this posting."""
        total = written + sum(amount for _, amount, _, _ in self.entries)
        if total != 0:
            raise AssertionError(f"posting {self.kind} does not balance: {total}")
        if not self.entries:
            return
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in self.entries)
        args: list[Any] = []
        for account_id, amount, rule, reason in self.entries:
            args += [new_id(), self.program.id, self.id, account_id, amount, rule, reason, self.store_id, self.now]
        await fetch(
            "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id,"
            " created_at)"
            f" VALUES {values}",
            *args,
        )


# -- points ----------------------------------------------------------------------------------


async def add_lot(
    writer: PostingWriter,
    accounts: MemberAccounts,
    points: int,
    expiry: PointsExpiry,
    earned_at: dt.datetime,
    available_at: dt.datetime | None = None,
    issuer: uuid.UUID | None = None,
) -> None:
    """Create a lot of ``points`` (the balance was already raised by the caller): on the pending
    account until ``available_at`` when given, else on the points account; issued by the
    writer's store unless ``issuer`` says otherwise (points given back keep their store)."""
    account = Kind.POINTS_PENDING if available_at else Kind.POINTS
    if account is Kind.POINTS and expiry.expires_at is not None and expiry.expires_at <= accounts.now:
        accounts.due += points  # given back with an expiry already past (a refund): not spendable
    await fetch(
        "INSERT INTO points_lot (id, program_id, account_id, posting_id, store_id, points, remaining, expired,"
        " earned_at, expires_at, available_at) VALUES ({}, {}, {}, {}, {}, {}, {}, 0, {}, {}, {})",
        new_id(),
        accounts.program.id,
        accounts.ids[account],
        writer.id,
        issuer or writer.store_id,
        points,
        points,
        earned_at,
        expiry.expires_at,
        available_at,
    )


async def credit_points(
    writer: PostingWriter,
    accounts: MemberAccounts,
    awards: list[Award],
    counter: Kind | None,
    lots: list[tuple[int, PointsExpiry]] | None = None,
    earned_at: dt.datetime | None = None,
    issuer: uuid.UUID | None = None,
) -> int:
    """Credit awarded points: debt is repaid first, the rest becomes lots. Returns the points
    credited to the points balance. ``counter`` is the contra account the points come from; None
    when the caller writes the other side itself (points moved from another member). ``lots``
    (points, expiry) splits the new points when they must keep given expiries (refunded
    redemptions, transfers); otherwise the expiry hook decides from
    ``earned_at`` (default now; a sale's time, so a till replaying yesterday keeps yesterday's expiry).

    Points a purchase earns wait on the pending account instead when the program's policy has a
    return window (``release-pending-points`` moves them once it closes; a refund cancels them)."""
    total = sum(award.points for award in awards)
    if total <= 0:
        return 0
    earned_at = earned_at or writer.now
    pending_days = points_policy(accounts.program.settings, accounts.program.points_expiry_days).pending_days
    if writer.kind == "purchase" and pending_days:  # the return window: spendable once it closes
        for award in awards:
            await writer.contra(counter, -award.points, award.rule, award.reason)
            writer.add(accounts.ids[Kind.POINTS_PENDING], award.points, award.rule, award.reason)
        accounts.credit_later(Kind.POINTS_PENDING, total)
        await accounts.settle(writer.now)
        expiry = hooks().points_expiry(accounts.program, earned_at)
        await add_lot(writer, accounts, total, expiry, earned_at, earned_at + dt.timedelta(days=pending_days))
        return 0
    for award in awards:
        if counter is not None:
            await writer.contra(counter, -award.points, award.rule, award.reason)
        writer.add(accounts.ids[Kind.POINTS], award.points, award.rule, award.reason)
    debt = accounts.balance[Kind.POINTS_DEBT]
    if debt < 0:  # re-read under lock: a concurrent earning may have repaid it
        debt = await accounts.lock(Kind.POINTS_DEBT)
    repay = min(total, -debt) if debt < 0 else 0
    if repay:
        writer.add(accounts.ids[Kind.POINTS], -repay, DEBT_REPAYMENT, "偿还积分欠款 / debt repaid")
        writer.add(accounts.ids[Kind.POINTS_DEBT], repay, DEBT_REPAYMENT, "偿还积分欠款 / debt repaid")
        accounts.credit_later(Kind.POINTS_DEBT, repay)
    kept = total - repay
    accounts.credit_later(Kind.POINTS, kept)
    await accounts.settle(writer.now)  # with what the caller queued (a purchase's growth)
    if kept:
        if lots is None:
            lots = [(total, hooks().points_expiry(accounts.program, earned_at))]
        skip = repay  # repaid points come off the first lots
        for points, expiry in lots:
            used = min(skip, points)
            skip -= used
            if points - used:
                await add_lot(writer, accounts, points - used, expiry, earned_at, issuer=issuer)
    return kept


async def consume_lots(
    writer: PostingWriter, account_id: uuid.UUID, points: int, prefer_posting: uuid.UUID | None
) -> None:
    """Take ``points`` from the account's lots (nearest expiry, then oldest; a preferred
    posting's own lots first) with two set-based statements."""
    prefer = "CASE WHEN posting_id = {} THEN 0 ELSE 1 END, " if prefer_posting else ""
    args: list[Any] = [prefer_posting] if prefer_posting else []
    await fetch(
        "WITH ordered AS (SELECT id, remaining, SUM(remaining) OVER (ORDER BY "
        f"{prefer}CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, earned_at, id"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running"
        " FROM points_lot WHERE program_id = {} AND account_id = {} AND remaining > 0)"
        " INSERT INTO points_lot_consumption (id, program_id, posting_id, lot_id, points)"
        " SELECT uuid7(), {}, {}, id,"
        " CASE WHEN running <= {} THEN remaining ELSE remaining - (running - {}) END"
        " FROM ordered WHERE running - remaining < {}",
        *args,
        writer.program.id,
        account_id,
        writer.program.id,
        writer.id,
        points,
        points,
        points,
    )
    await fetch(
        "UPDATE points_lot SET remaining = remaining - c.points FROM points_lot_consumption c"
        " WHERE c.program_id = {} AND c.posting_id = {} AND c.lot_id = points_lot.id"
        " AND points_lot.program_id = {} AND points_lot.account_id = {}",
        writer.program.id,
        writer.id,
        writer.program.id,
        account_id,
    )


async def lock_points(accounts: MemberAccounts, now: dt.datetime) -> int:
    """Lock the points account, expire its due lots (so nothing past its expiry is ever spent),
    and return the points that can be spent."""
    if now >= accounts.now:
        accounts.due = 0  # every lot due by the accounts' time is written off below (or was, by the job)
    await accounts.lock(Kind.POINTS)  # with a clock behind the accounts' (history replayed), what
    # stays due is read again once the balance moved
    due = await fetch_one(
        "SELECT COUNT(*) AS n FROM points_lot WHERE program_id = {} AND account_id = {} AND remaining > 0"
        " AND expires_at <= {}",
        accounts.program.id,
        accounts.ids[Kind.POINTS],
        now,
    )
    if due["n"]:
        from membership.ledger.expiry import expire_chunk

        await expire_chunk(
            accounts.program,
            now,
            chunk_size=due["n"],
            account_id=accounts.ids[Kind.POINTS],
            member_id=accounts.member_id,
        )
        await accounts.lock(Kind.POINTS)
    return accounts.balance[Kind.POINTS]


async def debit_points(
    writer: PostingWriter,
    accounts: MemberAccounts,
    points: int,
    counter: Kind,
    rule: str,
    reason: str,
) -> None:
    """Spend points (oldest-expiring lots first); ``InsufficientPoints`` when the balance is short."""
    available = await lock_points(accounts, writer.now)
    if not await accounts.change(Kind.POINTS, -points, writer.now):
        raise InsufficientPoints(requested=points, available=available)
    await consume_lots(writer, accounts.ids[Kind.POINTS], points, None)
    writer.add(accounts.ids[Kind.POINTS], -points, rule, reason)
    await writer.contra(counter, points, rule, reason)
    if counter is Kind.POINTS_REDEEMED:  # spent at this store: issuing stores owe it (adjustments do not)
        await settle(writer, accounts.ids[Kind.POINTS], Kind.POINTS)


async def reverse_points(
    writer: PostingWriter,
    accounts: MemberAccounts,
    points: int,
    prefer_posting: uuid.UUID,
    reason: str,
    counter: Kind | None = Kind.POINTS_ISSUED,
    rule: str = "refund",
) -> int:
    """Take back earned points: first the posting's points still pending (a refund inside the
    return window cancels them), then spendable points (the posting's own lots first); what was
    already spent becomes debt. The points go back to ``counter`` (None: the caller writes where
    they go, e.g. back to the member who transferred them); entries name ``rule``. Returns the
    debt recorded."""
    await accounts.lock(Kind.POINTS_PENDING)  # the release job moves pending lots under this lock
    pending = await fetch_one(
        "SELECT COALESCE(SUM(remaining), 0) AS n FROM points_lot"
        " WHERE program_id = {} AND account_id = {} AND posting_id = {} AND remaining > 0",  # points_lot_account
        accounts.program.id,
        accounts.ids[Kind.POINTS_PENDING],
        prefer_posting,
    )
    cancelled = min(points, int(pending["n"]))
    if cancelled:
        await accounts.change(Kind.POINTS_PENDING, -cancelled, writer.now)
        await consume_lots(writer, accounts.ids[Kind.POINTS_PENDING], cancelled, prefer_posting)
        writer.add(
            accounts.ids[Kind.POINTS_PENDING], -cancelled, rule, f"{reason}（待生效积分取消 / pending cancelled）"
        )
        if counter is not None:
            await writer.contra(counter, cancelled, rule, reason)
        points -= cancelled
    if not points:
        return 0
    available = await lock_points(accounts, writer.now)
    taken = min(points, available)
    debt = points - taken
    if taken:
        await accounts.change(Kind.POINTS, -taken, writer.now)
        await consume_lots(writer, accounts.ids[Kind.POINTS], taken, prefer_posting)
        writer.add(accounts.ids[Kind.POINTS], -taken, rule, reason)
    if debt:
        await accounts.change(Kind.POINTS_DEBT, -debt, writer.now)
        writer.add(accounts.ids[Kind.POINTS_DEBT], -debt, rule, f"{reason}（已消费积分计入欠款 / spent points owed）")
    if counter is not None:
        await writer.contra(counter, points, rule, reason)
    return debt


async def check_redemption(accounts: MemberAccounts, points: int, store_id: uuid.UUID | None, purpose: str) -> None:
    """Ask the points-rules plugins whether this redemption may happen."""
    refusal = await hooks().check_redemption(
        RedeemContext(accounts.program, accounts.member_id, store_id, points, accounts.spendable_points(), purpose)
    )
    if refusal:
        raise RedemptionNotAllowed(reason=refusal)


async def member_accounts(member_id: uuid.UUID, store_id: uuid.UUID | None = None) -> MemberAccounts:
    """The active member's accounts; ``store_id``, when given, must belong to the program's merchant."""
    row = await active_member(member_id)
    program = await get_program(row["program_id"])
    if store_id is not None:
        await check_store(program, store_id)
    return await MemberAccounts.load(program, member_id)


@use_case
async def redeem_points(
    member_id: uuid.UUID,
    points: int,
    store_id: uuid.UUID | None = None,
    reason: str = "积分兑换",
    idempotency_key: str | None = None,
    actor: str = "system",
) -> PointsResult:
    """Redeem points for a gift or service (积分兑换); idempotent with a key."""
    require_amount("points", points)
    accounts = await member_accounts(member_id, store_id)
    program = accounts.program

    async def run() -> PointsResult:
        now = dt.datetime.now(dt.UTC)
        await check_redemption(accounts, points, store_id, "redeem")
        writer = await PostingWriter(program, "redeem", member_id, now, store_id, operator=actor, reason=reason).open()
        await debit_points(writer, accounts, points, Kind.POINTS_REDEEMED, "redeem", reason)
        await writer.close()
        emit(Event("points.redeemed", program.id, member_id, {"points": points, "store_id": store_id}))
        return PointsResult(writer.id, member_id, points, accounts.balances())

    payload = {"member_id": member_id, "points": points, "store_id": store_id, "reason": reason}
    return await idempotency.once(program.id, idempotency_key, "redeem_points", payload, PointsResult, run)


@use_case
async def adjust_points(
    member_id: uuid.UUID,
    points: int,
    reason: str,
    actor: str,
    store_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> PointsResult:
    """Add (positive) or remove (negative) points by hand (手工调整); reason required, audited."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ValidationError(field="points", reason=Reason("a non-zero whole number", "应为非零整数"))
    if not reason or not reason.strip():
        raise ValidationError(field="reason", reason=Reason("required for a manual adjustment", "手动调整积分时必填"))
    accounts = await member_accounts(member_id)
    program = accounts.program

    async def run() -> PointsResult:
        now = dt.datetime.now(dt.UTC)
        writer = await PostingWriter(program, "adjust", member_id, now, store_id, operator=actor, reason=reason).open()
        if points > 0:
            await credit_points(writer, accounts, [Award("manual", points, reason)], Kind.POINTS_ADJUSTED)
        else:
            await debit_points(writer, accounts, -points, Kind.POINTS_ADJUSTED, "manual", reason)
        await writer.close()
        await audit.record(
            actor, "points.adjust", "member", member_id, program.id, {"points": points, "reason": reason}
        )
        emit(Event("points.adjusted", program.id, member_id, {"points": points, "reason": reason, "actor": actor}))
        return PointsResult(writer.id, member_id, points, accounts.balances())

    payload = {"member_id": member_id, "points": points, "reason": reason}
    return await idempotency.once(program.id, idempotency_key, "adjust_points", payload, PointsResult, run)


# -- stored value ------------------------------------------------------------------------------


async def add_value_lot(writer: PostingWriter, accounts: MemberAccounts, kind: Kind, amount: int) -> None:
    """Stored value of ``kind`` (principal or bonus) paid in at the writer's store, as a lot."""
    await fetch(
        "INSERT INTO stored_value_lot (id, program_id, account_id, posting_id, store_id, amount, remaining, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        accounts.program.id,
        accounts.ids[kind],
        writer.id,
        writer.store_id,
        amount,
        amount,
        writer.now,
    )


@use_case
async def top_up(
    member_id: uuid.UUID,
    amount: int,
    store_id: uuid.UUID | None = None,
    method: str = "cash",
    idempotency_key: str | None = None,
    actor: str = "system",
    plan: str | None = None,
) -> TopUpResult:
    """Add stored value (储值充值), in minor units; idempotent with a key. With a top-up ``plan``
    (充100送20) the amount must be the plan's and its bonus is added to the bonus balance."""
    require_amount("amount", amount)
    accounts = await member_accounts(member_id, store_id)
    program = accounts.program
    bonus = plan_bonus(program, plan, amount) if plan else 0

    async def run() -> TopUpResult:
        now = dt.datetime.now(dt.UTC)
        reason = f"储值充值（{method}）/ top-up ({method})" + (f" {plan}" if plan else "")
        writer = await PostingWriter(program, "top_up", member_id, now, store_id, operator=actor, reason=reason).open()
        await accounts.change(Kind.STORED_VALUE, amount, now)
        writer.add(accounts.ids[Kind.STORED_VALUE], amount, "top_up", reason)
        await writer.contra(Kind.STORED_VALUE_FUNDS, -amount, "top_up", reason)
        await add_value_lot(writer, accounts, Kind.STORED_VALUE, amount)
        if bonus:
            why = f"充值赠送 / top-up bonus ({plan})"
            await accounts.change(Kind.STORED_VALUE_BONUS, bonus, now)
            writer.add(accounts.ids[Kind.STORED_VALUE_BONUS], bonus, plan or "", why)
            await writer.contra(Kind.STORED_VALUE_BONUS_ISSUED, -bonus, plan or "", why)
            await add_value_lot(writer, accounts, Kind.STORED_VALUE_BONUS, bonus)
        await writer.close()
        data = {"amount": amount, "bonus": bonus, "store_id": store_id, "plan": plan}
        emit(Event("stored_value.topped_up", program.id, member_id, data))
        return TopUpResult(writer.id, member_id, amount, accounts.balances(), bonus=bonus)

    payload = {"member_id": member_id, "amount": amount, "store_id": store_id, "method": method, "plan": plan}
    return await idempotency.once(program.id, idempotency_key, "top_up", payload, TopUpResult, run)


async def _consume_value(writer: PostingWriter, account_id: uuid.UUID, amount: int) -> None:
    """Take ``amount`` from the account's stored-value lots, oldest first (two statements)."""
    await fetch(
        "INSERT INTO stored_value_consumption (id, program_id, posting_id, lot_id, amount)"
        " SELECT uuid7(), {}, {}, id, CASE WHEN running <= {} THEN remaining ELSE remaining - (running - {}) END"
        " FROM (SELECT id, remaining, SUM(remaining) OVER (ORDER BY created_at, id"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running"
        " FROM stored_value_lot WHERE program_id = {} AND account_id = {} AND remaining > 0) AS ordered"
        " WHERE running - remaining < {}",
        writer.program.id,
        writer.id,
        amount,
        amount,
        writer.program.id,
        account_id,
        amount,
    )
    await fetch(
        "UPDATE stored_value_lot SET remaining = remaining - c.amount FROM stored_value_consumption c"
        " WHERE c.program_id = {} AND c.posting_id = {} AND c.lot_id = stored_value_lot.id"
        " AND stored_value_lot.program_id = {} AND stored_value_lot.account_id = {}",
        writer.program.id,
        writer.id,
        writer.program.id,
        account_id,
    )


async def settle(writer: PostingWriter, account_id: uuid.UUID, kind: Kind) -> None:
    """Record what each issuing store owes the writer's store for the points or stored value this
    posting spent from ``account_id``'s lots issued elsewhere (财务清算), in minor units: stored
    value at face value, points at the program's ``point_value_minor``."""
    if writer.store_id is None:
        return
    if kind is Kind.POINTS:
        spent, per_unit = (
            "SELECT l.store_id, c.points AS units FROM points_lot_consumption c",
            writer.program.point_value_minor,
        )
        spent += " JOIN points_lot l ON l.program_id = c.program_id AND l.id = c.lot_id"
    else:
        spent, per_unit = "SELECT l.store_id, c.amount AS units FROM stored_value_consumption c", 1
        spent += " JOIN stored_value_lot l ON l.program_id = c.program_id AND l.id = c.lot_id"
    await fetch(
        "INSERT INTO settlement_entry (id, program_id, posting_id, issuer_store_id, redeemer_store_id, kind, units,"
        " value, created_at) SELECT uuid7(), {}, {}, x.store_id, {}, {},"
        " CAST(SUM(x.units) AS BIGINT), CAST(SUM(x.units) * {} AS BIGINT), {}"
        f" FROM ({spent} WHERE c.program_id = {{}} AND c.posting_id = {{}} AND l.program_id = {{}}"
        " AND l.account_id = {}) AS x"
        " WHERE x.store_id IS NOT NULL AND x.store_id <> {} GROUP BY x.store_id",
        writer.program.id,
        writer.id,
        writer.store_id,
        kind.value,
        per_unit,
        writer.now,
        writer.program.id,
        writer.id,
        writer.program.id,
        account_id,
        writer.store_id,
    )


@dataclasses.dataclass(frozen=True)
class CashOutResult:
    """What paying stored value back as cash did: the principal paid and the bonus forfeited."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount: int
    bonus_forfeited: int
    balances: Balances
    replayed: bool = False


@use_case
async def cash_out(
    member_id: uuid.UUID,
    amount: int,
    store_id: uuid.UUID | None = None,
    reason: str = "",
    idempotency_key: str | None = None,
    actor: str = "system",
) -> CashOutResult:
    """Pay stored value back as cash (退储值): principal only. The bonus is never paid out; the
    share of it that came with the principal withdrawn is forfeited (all of it when the whole
    principal goes), so a member cannot keep a bonus for money they took back."""
    require_amount("amount", amount)
    accounts = await member_accounts(member_id, store_id)
    program = accounts.program

    async def run() -> CashOutResult:
        now = dt.datetime.now(dt.UTC)
        principal = await accounts.lock(Kind.STORED_VALUE)
        bonus = await accounts.lock(Kind.STORED_VALUE_BONUS)
        if amount > principal:
            raise InsufficientStoredValue(requested=amount, available=principal)
        forfeited = bonus * amount // principal
        text = f"储值退款 / stored value paid back {reason}".strip()
        writer = await PostingWriter(program, "cash_out", member_id, now, store_id, operator=actor, reason=text).open()
        await accounts.change(Kind.STORED_VALUE, -amount, now)
        await _consume_value(writer, accounts.ids[Kind.STORED_VALUE], amount)
        writer.add(accounts.ids[Kind.STORED_VALUE], -amount, "cash_out", text)
        await writer.contra(Kind.STORED_VALUE_FUNDS, amount, "cash_out", text)
        if forfeited:
            why = "退款作废赠送金额 / bonus forfeited with the refund"
            await accounts.change(Kind.STORED_VALUE_BONUS, -forfeited, now)
            await _consume_value(writer, accounts.ids[Kind.STORED_VALUE_BONUS], forfeited)
            writer.add(accounts.ids[Kind.STORED_VALUE_BONUS], -forfeited, "bonus_forfeited", why)
            await writer.contra(Kind.STORED_VALUE_BONUS_ISSUED, forfeited, "bonus_forfeited", why)
        await writer.close()
        await audit.record(actor, "stored_value.cash_out", "member", member_id, program.id, {"amount": amount})
        emit(Event("stored_value.cashed_out", program.id, member_id, {"amount": amount, "bonus_forfeited": forfeited}))
        return CashOutResult(writer.id, member_id, amount, forfeited, accounts.balances())

    payload = {"member_id": member_id, "amount": amount, "store_id": store_id}
    return await idempotency.once(program.id, idempotency_key, "cash_out", payload, CashOutResult, run)


async def debit_stored_value(writer: PostingWriter, accounts: MemberAccounts, amount: int, reason: str) -> None:
    """Pay ``amount`` from stored value, principal first and the bonus last (oldest lots first);
    ``InsufficientStoredValue`` when both together are short."""
    principal = await accounts.lock(Kind.STORED_VALUE)
    bonus = await accounts.lock(Kind.STORED_VALUE_BONUS)
    if principal + bonus < amount:
        raise InsufficientStoredValue(requested=amount, available=principal + bonus)
    from_principal = min(principal, amount)
    for kind, part, rule in (
        (Kind.STORED_VALUE, from_principal, "pay"),
        (Kind.STORED_VALUE_BONUS, amount - from_principal, "pay_bonus"),
    ):
        if not part:
            continue
        await accounts.change(kind, -part, writer.now)
        await _consume_value(writer, accounts.ids[kind], part)
        writer.add(accounts.ids[kind], -part, rule, reason)
        await writer.contra(Kind.STORED_VALUE_SPENT, part, rule, reason)
        await settle(writer, accounts.ids[kind], kind)


async def _unsettle(writer: PostingWriter, kind: Kind, issuer: uuid.UUID | None, units: int, per_unit: int) -> None:
    """A negative settlement entry: what ``issuer`` owed the writer's store for ``units`` given back."""
    await owe(writer, kind, issuer, -units, per_unit)


async def owe(writer: PostingWriter, kind: Kind, issuer: uuid.UUID | None, units: int, per_unit: int = 1) -> None:
    """One settlement entry: ``issuer`` owes the writer's store ``units`` × ``per_unit`` (minor
    units) of ``kind`` (negative: given back); nothing when both are the same store."""
    if issuer is None or writer.store_id is None or issuer == writer.store_id or not units:
        return
    await fetch(
        "INSERT INTO settlement_entry (id, program_id, posting_id, issuer_store_id, redeemer_store_id, kind, units,"
        " value, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        writer.program.id,
        writer.id,
        issuer,
        writer.store_id,
        kind.value,
        units,
        units * per_unit,
        writer.now,
    )


def _allocate(rows: list[dict[str, Any]], already: int, amount: int, field: str) -> list[tuple[dict[str, Any], int]]:
    """Split ``amount`` over ``rows`` (in order), skipping the first ``already`` units earlier
    refunds took."""
    given, skip = [], already
    for row in rows:
        available = row[field] - min(skip, row[field])
        skip -= row[field] - available
        part = min(available, amount)
        if part:
            given.append((row, part))
            amount -= part
    return given


async def give_back_points(
    writer: PostingWriter, accounts: MemberAccounts, purchase: uuid.UUID, already: int, points: int, reason: str
) -> None:
    """Give back ``points`` a refunded purchase paid with: as new lots keeping the original lots'
    expiry (latest first) and issuing store, skipping what earlier refunds gave back; what their
    stores owed this one for them is taken back from the settlement."""
    rows = await fetch(
        "SELECT c.points, l.expires_at, l.store_id FROM points_lot_consumption c JOIN points_lot l ON l.program_id ="
        " c.program_id AND l.id = c.lot_id"
        " WHERE c.program_id = {} AND c.posting_id = {} AND l.program_id = {} AND l.account_id = {}",
        writer.program.id,
        purchase,
        writer.program.id,
        accounts.ids[Kind.POINTS],
    )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows.sort(key=lambda r: (r["expires_at"] or far, str(r["store_id"])), reverse=True)
    for row, part in _allocate(rows, already, points, "points"):
        award = Award("refund_points_paid", part, reason)
        lots = [(part, PointsExpiry(row["expires_at"]))]
        await credit_points(writer, accounts, [award], Kind.POINTS_REDEEMED, lots, issuer=row["store_id"])
        await _unsettle(writer, Kind.POINTS, row["store_id"], part, accounts.program.point_value_minor)


async def give_back_stored_value(
    writer: PostingWriter, accounts: MemberAccounts, purchase: uuid.UUID, already: int, amount: int, reason: str
) -> None:
    """Give back ``amount`` of stored value a refunded purchase paid with, into the lots it came
    from: the bonus first (it was spent last), then the principal, latest first, skipping what
    earlier refunds gave back; what their stores owed this one is taken back from the settlement."""
    rows = await fetch(
        "SELECT c.amount, l.id AS lot_id, l.store_id, l.account_id, l.created_at FROM stored_value_consumption c"
        " JOIN stored_value_lot l ON l.program_id = c.program_id AND l.id = c.lot_id"
        " WHERE c.program_id = {} AND c.posting_id = {} AND l.program_id = {}",
        writer.program.id,
        purchase,
        writer.program.id,
    )
    bonus_account = accounts.ids[Kind.STORED_VALUE_BONUS]
    rows.sort(key=lambda r: (r["account_id"] == bonus_account, r["created_at"], str(r["lot_id"])), reverse=True)
    for row, part in _allocate(rows, already, amount, "amount"):
        kind = Kind.STORED_VALUE_BONUS if row["account_id"] == bonus_account else Kind.STORED_VALUE
        await fetch(
            "UPDATE stored_value_lot SET remaining = remaining + {} WHERE program_id = {} AND id = {}",
            part,
            writer.program.id,
            row["lot_id"],
        )
        await accounts.change(kind, part, writer.now)
        writer.add(accounts.ids[kind], part, "refund", reason)
        await writer.contra(Kind.STORED_VALUE_SPENT, -part, "refund", reason)
        await _unsettle(writer, kind, row["store_id"], part, 1)


# -- reading -------------------------------------------------------------------------------------


async def balances(member_id: uuid.UUID) -> Balances:
    """A member's balances, spendable now: points past their expiry are left out even before
    the expiry job writes them off."""
    return (await member_accounts(member_id)).balances()


LOT_STATES = ("pending", "available", "expired", "spent")
"""A lot's state now: waiting for its return window, with points to spend, past its expiry
(written off or not yet), or spent to the last point."""


@dataclasses.dataclass(frozen=True)
class NextExpiry:
    """The member's next-expiring points: ``points`` spendable now that expire on the same local
    day as the next lot to expire, ``at`` when that lot expires, and ``last_day``, the last local
    date they can be spent (the day before ``at`` when it falls at midnight: points kept through
    their whole last day)."""

    points: int
    at: dt.datetime
    last_day: dt.date


async def next_expiry(accounts: MemberAccounts) -> NextExpiry | None:
    """What expires next of the member's points (as of the accounts' time), or None when nothing
    will: one statement after :meth:`MemberAccounts.load`, which found the next expiry."""
    at = accounts.expiring.next_at
    if at is None:
        return None
    zone = accounts.program.zone
    last_day = (at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    day_end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    row = await fetch_one(
        "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) AS points FROM points_lot WHERE program_id = {}"
        " AND account_id = {} AND remaining > 0 AND expires_at > {} AND expires_at <= {}",
        accounts.program.id,
        accounts.ids[Kind.POINTS],
        accounts.now,
        day_end,
    )
    return NextExpiry(int(row["points"]), at, last_day)


async def points_lots_page(
    member_id: uuid.UUID, page: int = 1, page_size: int = 50, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A member's points lots, latest earned first, and how many there are: each with the points
    earned, when it was earned, when it expires (None: never) and, as of ``now``, what is left
    to spend (``remaining``: 0 once past its expiry), what expired (including points past their
    expiry that the job has not written off yet), what was spent, and its state
    (:data:`LOT_STATES`). Pending lots (the return window) show when they become spendable.
    One statement: the caller has checked the member (the API refuses an erased one)."""
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationError(
            field="page", reason=Reason("page ≥ 1 and 1 ≤ page_size ≤ 500", "须 page ≥ 1 且 1 ≤ page_size ≤ 500")
        )
    now = now or dt.datetime.now(dt.UTC)
    past = "(l.expires_at IS NOT NULL AND l.expires_at <= {})"
    rows, total = await fetch_page(
        "SELECT l.id, l.points, CASE WHEN " + past + " THEN 0 ELSE l.remaining END AS remaining,"
        " l.expired + CASE WHEN " + past + " THEN l.remaining ELSE 0 END AS expired,"
        " l.points - l.remaining - l.expired AS spent, l.earned_at, l.expires_at, l.available_at,"
        " l.store_id, l.posting_id, CASE WHEN a.kind = 'points_pending' THEN 'pending'"
        " WHEN l.remaining > 0 AND NOT " + past + " THEN 'available'"
        " WHEN l.expired > 0 OR l.remaining > 0 THEN 'expired' ELSE 'spent' END AS state,"
        " COUNT(*) OVER () AS listed FROM points_lot l JOIN ledger_account a ON a.program_id = l.program_id AND a.id"
        " = l.account_id"
        " WHERE a.member_id = {} AND a.kind IN ('points', 'points_pending')"
        " ORDER BY l.earned_at DESC, l.id DESC",
        *(now, now, now),  # one per `past`
        member_id,
        page=page,
        page_size=page_size,
    )
    for row in rows:
        for column in ("points", "remaining", "expired", "spent"):
            row[column] = int(row[column])
    return rows, total


async def ledger_page(member_id: uuid.UUID, page: int = 1, page_size: int = 50) -> tuple[list[dict[str, Any]], int]:
    """A member's ledger entries, newest first, each with its rule and reason; and the total."""
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationError(
            field="page", reason=Reason("page ≥ 1 and 1 ≤ page_size ≤ 500", "须 page ≥ 1 且 1 ≤ page_size ≤ 500")
        )
    await active_member(member_id)
    total = await fetch_one(
        "SELECT COUNT(*) AS n FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id ="
        " e.account_id WHERE a.member_id = {}",
        member_id,
    )
    rows = await fetch(
        "SELECT e.id, e.created_at, p.kind AS posting, a.kind AS account, e.amount, e.rule,"
        " CASE WHEN e.reason = '' THEN p.reason ELSE e.reason END AS reason, p.store_id, p.sale_id, p.operator"
        " FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id"
        " JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id WHERE a.member_id = {}"
        " ORDER BY e.created_at DESC, e.id LIMIT {} OFFSET {}",
        member_id,
        page_size,
        (page - 1) * page_size,
    )
    return rows, total["n"]
