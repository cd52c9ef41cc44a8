"""Releasing pending points (待生效积分到期转可用) and warning of points about to expire.

Release is set-based, chunked and idempotent, like expiry: each chunk is one transaction that
takes up to ``chunk_size`` due lots of one program, writes one entry per pending account and one
per points account (a single ``release`` posting), moves the balances, and moves the lots to the
points account with their original expiry. A member who owes points (a refund after spending)
then repays the debt from what was released. A second run finds nothing due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.db import emit, fetch, fetch_one, is_sqlite, placeholders, use_case
from membership.events import Event
from membership.jobs.interface import JobResult, Pace, Progress
from membership.ledger.accounts import Kind
from membership.ledger.policy import points_policy
from membership.ledger.service import DEBT_REPAYMENT, MemberAccounts, PostingWriter, consume_lots, lock_points
from membership.org.service import ProgramConfig, list_programs

REASON = "待生效积分转为可用 / pending points available"
_DUE = (
    "SELECT l.id FROM points_lot l"
    " JOIN ledger_account pend ON pend.program_id = l.program_id AND pend.id = l.account_id WHERE pend.kind ="
    " 'points_pending' AND l.program_id = {} AND l.available_at <= {} AND l.remaining > 0"
)
_POINTS_ACCOUNT = (  # the points account of a pending lot's member (Citus: joined on the program too)
    "SELECT pa.id FROM ledger_account pend JOIN ledger_account pa ON pa.program_id = pend.program_id"
    " AND pa.member_id = pend.member_id AND pa.kind = 'points'"
    " WHERE pend.program_id = points_lot.program_id AND pend.id = points_lot.account_id"
)


@dataclasses.dataclass(frozen=True)
class Released:
    """What one chunk released."""

    lots: int
    points: int


@use_case
async def _release_chunk(program: ProgramConfig, now: dt.datetime, chunk_size: int) -> Released:
    ids = [row["id"] for row in await fetch(_DUE + " LIMIT {}", program.id, now, chunk_size)]
    if not ids:
        return Released(0, 0)
    marks = placeholders(ids)
    chosen = [program.id, *ids]  # every statement names the program: on Citus one worker runs it
    in_chunk = f"program_id = {{}} AND id IN ({marks})"
    lots = f"FROM points_lot WHERE {in_chunk}"
    total = int((await fetch_one(f"SELECT SUM(remaining) AS n {lots}", *chosen))["n"])
    writer = await PostingWriter(program, "release", None, now, reason=REASON).open()
    per_account = (
        f"SELECT program_id, account_id, CAST(SUM(remaining) AS BIGINT) AS n {lots} GROUP BY program_id, account_id"
    )
    await fetch(
        "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id, created_at)"
        f" SELECT uuid7(), {{}}, {{}}, x.account_id, -x.n, 'release', {{}}, NULL, {{}} FROM ({per_account}) AS x",
        program.id,
        writer.id,
        REASON,
        now,
        *chosen,
    )
    await fetch(
        "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id, created_at)"
        f" SELECT uuid7(), {{}}, {{}}, pa.id, x.n, 'release', {{}}, NULL, {{}} FROM ({per_account}) AS x"
        " JOIN ledger_account pend ON pend.program_id = x.program_id AND pend.id = x.account_id"
        " JOIN ledger_account pa ON pa.program_id = pend.program_id AND pa.member_id = pend.member_id"
        " AND pa.kind = 'points'",
        program.id,
        writer.id,
        REASON,
        now,
        *chosen,
    )
    await fetch(
        f"UPDATE ledger_account SET balance = balance - x.n, updated_at = {{}} FROM ({per_account}) AS x"
        " WHERE ledger_account.program_id = x.program_id AND ledger_account.id = x.account_id",
        now,
        *chosen,
    )
    await fetch(
        f"UPDATE ledger_account SET balance = ledger_account.balance + x.n, updated_at = {{}} FROM ({per_account}) AS x"
        " JOIN ledger_account pend ON pend.program_id = x.program_id AND pend.id = x.account_id"
        " WHERE ledger_account.program_id = pend.program_id AND ledger_account.member_id = pend.member_id"
        " AND ledger_account.kind = 'points'",
        now,
        *chosen,
    )
    await fetch(
        f"UPDATE points_lot SET account_id = ({_POINTS_ACCOUNT}), available_at = NULL"
        f" WHERE program_id = {{}} AND id IN ({marks})",
        *chosen,
    )
    await writer.close(written=0)
    await _repay_debts(program, now, ids)
    emit(Event("points.released", program.id, None, {"lots": len(ids), "points": total}))
    return Released(len(ids), total)


async def _repay_debts(program: ProgramConfig, now: dt.datetime, lot_ids: list[uuid.UUID]) -> None:
    """Members of the released lots who owe points repay them now (rare: one by one)."""
    owing = await fetch(
        "SELECT DISTINCT a.member_id FROM points_lot l"
        " JOIN ledger_account a ON a.program_id = l.program_id AND a.id = l.account_id"
        " JOIN ledger_account d ON d.program_id = a.program_id AND d.member_id = a.member_id AND d.kind = 'points_debt'"
        f" WHERE l.program_id = {{}} AND l.id IN ({placeholders(lot_ids)}) AND d.balance < 0",
        program.id,
        *lot_ids,
    )
    for row in owing:
        accounts = await MemberAccounts.load(program, row["member_id"])
        available = await lock_points(accounts, now)  # never repay with points past their expiry
        repay = min(available, -await accounts.lock(Kind.POINTS_DEBT))
        if repay <= 0:
            continue
        writer = await PostingWriter(
            program, "repay", row["member_id"], now, reason="偿还积分欠款 / debt repaid"
        ).open()
        await accounts.change(Kind.POINTS, -repay, now)
        await consume_lots(writer, accounts.ids[Kind.POINTS], repay, None)
        await accounts.change(Kind.POINTS_DEBT, repay, now)
        writer.add(accounts.ids[Kind.POINTS], -repay, DEBT_REPAYMENT, "偿还积分欠款 / debt repaid")
        writer.add(accounts.ids[Kind.POINTS_DEBT], repay, DEBT_REPAYMENT, "偿还积分欠款 / debt repaid")
        await writer.close()


async def release_pending_points(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """The ``release-pending-points`` job: every program's pending lots whose window closed."""
    pace = Pace(chunk_size)
    programs = await list_programs()
    total = 0
    for program in programs:
        counted = await fetch_one(f"SELECT COUNT(*) AS n FROM ({_DUE}) AS due", program.id, now)
        total += int(counted["n"])
    done = points = 0
    progress(0, total)
    for program in programs:
        while (chunk := await _release_chunk(program, now, pace.size)).lots:
            done, points = done + chunk.lots, points + chunk.points
            progress(done, total)
            await pace.rest()
    return JobResult(done, f"释放待生效积分 {points}（{done} 批）/ {points} pending points released in {done} lots")


@use_case
async def _warn_chunk(
    program: ProgramConfig, now: dt.datetime, until: dt.datetime, chunk_size: int, after: str
) -> tuple[int, str]:
    """Warn of up to ``chunk_size`` lots: how many, and (SQLite) the account to go on from.

    SQLite has no index of lots in expiry order (they are stored by account, see ledger/expiry.py):
    the chunks read the lots in account order from the account an earlier chunk ended in."""
    in_order = (" AND l.account_id >= {} ORDER BY l.account_id", [after]) if is_sqlite() else ("", [])
    lots = await fetch(
        "SELECT l.id, l.account_id, a.member_id, l.remaining, l.expires_at FROM points_lot l JOIN ledger_account a"
        " ON a.id = l.account_id WHERE l.program_id = {} AND l.warned_at IS NULL AND l.remaining > 0"
        f" AND l.expires_at > {{}} AND l.expires_at <= {{}}{in_order[0]} LIMIT {{}}",
        *(program.id, now, until, *in_order[1], chunk_size),
    )
    if not lots:
        return 0, after
    ids = [lot["id"] for lot in lots]
    await fetch(
        f"UPDATE points_lot SET warned_at = {{}} WHERE program_id = {{}} AND id IN ({placeholders(ids)})",
        now,
        program.id,
        *ids,
    )
    per_member: dict[uuid.UUID, dict[str, Any]] = {}
    for lot in lots:
        warning = per_member.setdefault(lot["member_id"], {"points": 0, "expires_at": lot["expires_at"]})
        warning["points"] += int(lot["remaining"])
        warning["expires_at"] = min(warning["expires_at"], lot["expires_at"])
    for member_id, warning in per_member.items():
        data = {"points": warning["points"], "expires_at": warning["expires_at"].isoformat()}
        emit(Event("points.expiring", program.id, member_id, data))
    return len(lots), str(lots[-1]["account_id"])


async def warn_expiring_points(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """The ``warn-expiring-points`` job: one ``points.expiring`` event per member whose points
    expire within the program's ``warn_days`` (each lot warned once)."""
    pace = Pace(chunk_size)
    done = 0
    for program in await list_programs():
        warn_days = points_policy(program.settings, program.points_expiry_days).warn_days
        if not warn_days:
            continue
        until = now + dt.timedelta(days=warn_days)
        after = ""  # lots already warned are left out: a chunk may begin in the account the last one ended in
        while (chunk := await _warn_chunk(program, now, until, pace.size, after))[0]:
            warned, after = chunk
            done += warned
            progress(done, done)
            await pace.rest()
    return JobResult(done, f"已提醒即将过期的积分 {done} 批 / {done} expiring lots announced")
