"""Monthly points statements (积分对账单): for each member and month, the points balance at the
start, what was earned, redeemed, expired and adjusted, and the balance at the end — built from
the kernel's ledger (the member's spendable ``points`` account), so they reconcile with it:
``opening + earned − redeemed − expired + adjusted = closing``, and ``closing`` is the account's
balance at the end of the month (the sum of its entries until then).

The month is local to the program. An entry on the account counts as

* **expired** — in an expiry posting (到期失效);
* **redeemed** — in a redemption posting (礼品兑换), paying with points (积分抵现), less points
  given back when such a purchase is refunded;
* **adjusted** — in a manual adjustment (人工调整), up or down;
* **earned** — everything else: points from purchases, bonuses, sign-ins, points becoming
  spendable after the return window, less points a refund took back or that repaid a debt.

The ``finance-statements`` job builds the previous month's statements of every program the pack is
on for, in one set-based statement per program (rebuilding a month replaces its statements); a
statement of a month not built yet, or of the running month, is worked out on request the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.plugin import ProgramConfig, conflict_target, execute, fetch, fetch_one, is_sqlite, new_id, use_case
from membership_finance.values import month_bounds, month_of, now, parse_month

LINE_LIMIT = 500
CATEGORY = (
    "CASE WHEN p.kind = 'expire' THEN 'expired'"
    " WHEN p.kind = 'redeem' OR e.rule IN ('pay_with_points', 'refund_points_paid') THEN 'redeemed'"
    " WHEN p.kind IN ('adjust', 'manual') THEN 'adjusted' ELSE 'earned' END"
)


def _figures(member: bool) -> str:
    """SQL of the month's figures per points account of the program's members (one member's when
    ``member``): the balance now less what came after the month's start (opening) and after its
    end (closing), and the month's entries by category. Parameters: start, the program (and the
    member), then the end, six times."""
    moved = "x.created_at < {} AND x.category = '%s'"
    return (
        "SELECT x.program_id, x.member_id, x.balance - COALESCE(SUM(x.amount), 0) AS opening,"
        f" COALESCE(SUM(CASE WHEN {moved % 'earned'} THEN x.amount END), 0) AS earned,"
        f" -COALESCE(SUM(CASE WHEN {moved % 'redeemed'} THEN x.amount END), 0) AS redeemed,"
        f" -COALESCE(SUM(CASE WHEN {moved % 'expired'} THEN x.amount END), 0) AS expired,"
        f" COALESCE(SUM(CASE WHEN {moved % 'adjusted'} THEN x.amount END), 0) AS adjusted,"
        " x.balance - COALESCE(SUM(CASE WHEN x.created_at >= {} THEN x.amount END), 0) AS closing,"
        " COUNT(CASE WHEN x.created_at < {} THEN 1 END) AS moves"
        f" FROM (SELECT a.program_id, a.member_id, a.balance, e.amount, e.created_at, {CATEGORY} AS category"
        " FROM ledger_account a JOIN member m ON m.program_id = a.program_id AND m.id = a.member_id"
        " LEFT JOIN ledger_entry e ON e.program_id = a.program_id AND e.account_id = a.id AND e.created_at >= {}"
        " LEFT JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id"
        " WHERE a.program_id = {} AND a.kind = 'points' AND m.status <> 'erased'"
        + (" AND a.member_id = {}" if member else "")
        + ") AS x GROUP BY x.program_id, x.member_id, x.balance"
    )


def _arguments(start: dt.datetime, end: dt.datetime, program_id: uuid.UUID, member_id: uuid.UUID | None) -> list:
    return [*([end] * 6), start, program_id, *([member_id] if member_id else [])]


@dataclasses.dataclass(frozen=True)
class Statement:
    """A member's statement of a month (points); ``built`` is when the job (or a manager) built
    it, None for one worked out on request."""

    member_id: uuid.UUID
    month: str
    opening: int
    earned: int
    redeemed: int
    expired: int
    adjusted: int
    closing: int
    built_at: dt.datetime | None = None

    @property
    def reconciles(self) -> bool:
        """Whether opening + earned − redeemed − expired + adjusted is the closing balance."""
        return self.opening + self.earned - self.redeemed - self.expired + self.adjusted == self.closing


def _statement(row: dict[str, Any], month: str, built_at: Any = None) -> Statement:
    return Statement(
        uuid.UUID(str(row["member_id"])),
        month,
        int(row["opening"]),
        int(row["earned"]),
        int(row["redeemed"]),
        int(row["expired"]),
        int(row["adjusted"]),
        int(row["closing"]),
        built_at,
    )


@use_case
async def build_month(program: ProgramConfig, month: str, actor: str = "job") -> int:
    """Build (or rebuild) the statements of ``month`` for every member of the program whose points
    account had a balance or moved in it, in one statement; how many."""
    month = parse_month(month)
    start, end = month_bounds(program, month)
    typed = "{}" if is_sqlite() else "CAST({} AS VARCHAR(7))"
    moment = "{}" if is_sqlite() else "CAST({} AS TIMESTAMPTZ)"
    at = now()
    await execute(
        "INSERT INTO finance_statement (id, program_id, member_id, month, opening, earned, redeemed, expired,"
        f" adjusted, closing, built_at) SELECT uuid7(), f.program_id, f.member_id, {typed}, f.opening, f.earned,"
        f" f.redeemed, f.expired, f.adjusted, f.closing, {moment} FROM ({_figures(False)}) AS f"
        " WHERE f.opening <> 0 OR f.closing <> 0 OR f.moves > 0"
        " ON CONFLICT "
        + await conflict_target("member_id", "month")
        + " DO UPDATE SET opening = excluded.opening, earned = excluded.earned,"
        " redeemed = excluded.redeemed, expired = excluded.expired, adjusted = excluded.adjusted,"
        " closing = excluded.closing, built_at = excluded.built_at",
        month,
        at,
        *_arguments(start, end, program.id, None),
    )
    built = await fetch_one(
        "SELECT COUNT(*) AS n FROM finance_statement WHERE program_id = {} AND month = {} AND built_at = {}",
        program.id,
        month,
        at,
    )
    count = int(built["n"])
    await execute(  # a member whose month no longer has anything to state (a rebuild after a correction)
        "DELETE FROM finance_statement WHERE program_id = {} AND month = {} AND built_at <> {}",
        program.id,
        month,
        at,
    )
    await execute(
        "INSERT INTO finance_statement_run (id, program_id, month, statements, actor, built_at)"
        " VALUES ({}, {}, {}, {}, {}, {})",
        new_id(),
        program.id,
        month,
        count,
        actor[:100],
        at,
    )
    return count


async def statement(program: ProgramConfig, member_id: uuid.UUID, month: str) -> Statement:
    """The member's statement of ``month``: as built, or worked out from the ledger now when the
    month was not built (or is still running)."""
    month = parse_month(month)
    row = await fetch_one("SELECT * FROM finance_statement WHERE member_id = {} AND month = {}", member_id, month)
    if row is not None:
        return _statement(row, month, row["built_at"])
    start, end = month_bounds(program, month)
    live = await fetch_one(_figures(True), *_arguments(start, end, program.id, member_id))
    if live is None:  # no points account yet
        return Statement(member_id, month, 0, 0, 0, 0, 0, 0)
    return _statement(live, month)


async def statements_of(member_id: uuid.UUID, limit: int = 24, offset: int = 0) -> list[Statement]:
    """The member's built statements, newest month first (a page of them)."""
    rows = await fetch(
        "SELECT * FROM finance_statement WHERE member_id = {} ORDER BY month DESC LIMIT {} OFFSET {}",
        member_id,
        limit,
        offset,
    )
    return [_statement(row, row["month"], row["built_at"]) for row in rows]


async def lines(program: ProgramConfig, member_id: uuid.UUID, month: str) -> list[dict[str, Any]]:
    """The month's entries on the member's points account (明细), oldest first: ``at``,
    ``points`` (signed), ``category``, ``reason`` (at most :data:`LINE_LIMIT`)."""
    start, end = month_bounds(program, parse_month(month))
    return await fetch(
        f"SELECT e.created_at AS at, e.amount AS points, {CATEGORY} AS category, e.reason, e.rule"
        " FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id"
        " JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id WHERE a.member_id = {} AND"
        " a.kind = 'points'"
        " AND e.created_at >= {} AND e.created_at < {} ORDER BY e.created_at, e.id LIMIT {}",
        member_id,
        start,
        end,
        LINE_LIMIT,
    )


async def last_runs(program_id: uuid.UUID, limit: int = 12) -> list[dict[str, Any]]:
    """The program's latest statement runs, newest first."""
    return await fetch(
        "SELECT month, statements, actor, built_at FROM finance_statement_run WHERE program_id = {}"
        " ORDER BY built_at DESC LIMIT {}",
        program_id,
        limit,
    )


def closed_month(program: ProgramConfig, moment: dt.datetime) -> str:
    """The last month that ended before ``moment`` (what the job builds)."""
    first = moment.astimezone(program.zone).replace(day=1)
    return month_of(program, first - dt.timedelta(days=1))
