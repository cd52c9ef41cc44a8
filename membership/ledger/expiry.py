"""Points expiry (积分过期): set-based, chunked, resumable, idempotent.

Each chunk is one transaction: it marks up to ``chunk_size`` due lots of one program with a new
posting id, then writes the member entries (one per account), the contra entry, the balances and
the lots from that mark — five statements whatever the chunk size. A crash loses at most the
chunk in flight (it rolls back); a second run finds nothing due and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.db import emit, fetch, fetch_one, is_sqlite, use_case
from membership.events import Event
from membership.jobs.interface import JobResult, Progress
from membership.ledger.accounts import Kind
from membership.ledger.service import PostingWriter
from membership.org.service import ProgramConfig, list_programs

REASON = "积分到期 / points expired"


@dataclasses.dataclass(frozen=True)
class ExpiredChunk:
    """What one chunk expired."""

    lots: int
    points: int
    accounts: int


async def expire_chunk(
    program: ProgramConfig,
    now: dt.datetime,
    chunk_size: int,
    account_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
) -> ExpiredChunk:
    """Expire up to ``chunk_size`` due lots of ``program`` (of one account when given), inside
    the caller's transaction."""
    mark = uuid.uuid4()
    only_account = " AND account_id = {}" if account_id else ""
    # PostgreSQL plans "id IN (SELECT … LIMIT n)" as a scan of the whole table; an array of ids
    # goes through the primary key (SQLite has no arrays and plans the IN well)
    chosen = "id IN ({})" if is_sqlite() else "id = ANY(ARRAY({}))"
    due = "SELECT id FROM points_lot WHERE program_id = {} AND remaining > 0 AND expires_at <= {}"
    await fetch(
        "UPDATE points_lot SET expiry_posting_id = {} WHERE " + chosen.replace("{}", due + only_account + " LIMIT {}"),
        mark,
        program.id,
        now,
        *([account_id] if account_id else []),
        chunk_size,
    )
    totals = await fetch_one(
        "SELECT COUNT(*) AS lots, COALESCE(SUM(remaining), 0) AS points, COUNT(DISTINCT account_id) AS accounts"
        " FROM points_lot WHERE expiry_posting_id = {}",
        mark,
    )
    chunk = ExpiredChunk(int(totals["lots"]), int(totals["points"]), int(totals["accounts"]))
    if not chunk.lots:
        return chunk
    writer = await PostingWriter(program, "expire", member_id, now, reason=REASON, posting_id=mark).open()
    await fetch(
        "INSERT INTO ledger_entry (id, posting_id, account_id, amount, rule, reason, store_id, created_at)"
        " SELECT gen_random_uuid(), {}, account_id, -CAST(SUM(remaining) AS BIGINT), 'expiry', {}, NULL, {}"
        " FROM points_lot WHERE expiry_posting_id = {} GROUP BY account_id",
        mark,
        REASON,
        now,
        mark,
    )
    await writer.contra(Kind.POINTS_EXPIRED, chunk.points, "expiry", REASON)
    await writer.close(written=-chunk.points)
    await fetch(
        "UPDATE ledger_account SET balance = balance - x.total, updated_at = {}"
        " FROM (SELECT account_id, CAST(SUM(remaining) AS BIGINT) AS total FROM points_lot"
        " WHERE expiry_posting_id = {} GROUP BY account_id) AS x WHERE ledger_account.id = x.account_id",
        now,
        mark,
    )
    await fetch("UPDATE points_lot SET expired = expired + remaining, remaining = 0 WHERE expiry_posting_id = {}", mark)
    emit(Event("points.expired", program.id, member_id, {"lots": chunk.lots, "points": chunk.points}))
    return chunk


@use_case
async def _expire_one_chunk(program: ProgramConfig, now: dt.datetime, chunk_size: int) -> ExpiredChunk:
    return await expire_chunk(program, now, chunk_size)


async def expire_points(now: dt.datetime, progress: Progress, chunk_size: int = 5000) -> JobResult:
    """Expire every due lot of every program, one committed chunk at a time."""
    due = await fetch_one("SELECT COUNT(*) AS n FROM points_lot WHERE remaining > 0 AND expires_at <= {}", now)
    total, done, points, accounts = int(due["n"]), 0, 0, 0
    progress(0, total)
    for program in await list_programs():
        while True:
            chunk = await _expire_one_chunk(program, now, chunk_size)
            if not chunk.lots:
                break
            done, points, accounts = done + chunk.lots, points + chunk.points, accounts + chunk.accounts
            progress(done, total)
    return JobResult(done, f"{points} points expired in {done} lots of {accounts} member accounts")
