"""Points expiry (积分过期): set-based, chunked, resumable, idempotent.

Each chunk is one transaction that takes the next member accounts with due lots of one program
and expires all their due lots: the lots (each written once), the posting with one entry per
account (so each account is written once per run) and the contra entry, and the balances — one
statement on PostgreSQL, a few on SQLite, whatever the chunk size. A crash loses at most the
chunk in flight (it rolls back); a second run finds nothing due and changes nothing.

The next accounts are those of the next due lots on PostgreSQL (its index of lots with points
left, in expiry order), and the next ones in account order on SQLite, whose lots are stored by
account: there a chunk changes neighbouring pages of the lots, the balances and the entries'
account index instead of a page of each per account (migration ``2026-11-30T14:00``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.db import citus, emit, execute, fetch, fetch_one, is_sqlite, job_chunk, new_id
from membership.db.references import may_skip_reference_checks, proven_references
from membership.events import Event
from membership.jobs.interface import (
    JobResult,
    Pace,
    Progress,
    in_parts,
)
from membership.ledger.accounts import Kind
from membership.ledger.service import system_account
from membership.org.service import ProgramConfig, list_programs

REASON = "积分到期 / points expired"


@dataclasses.dataclass(frozen=True)
class ExpiredChunk:
    """What one chunk expired."""

    lots: int
    points: int
    accounts: int
    through: str = ""  # SQLite: the last account the chunk took (the next chunk starts after it)


@dataclasses.dataclass(frozen=True)
class _Chunk:
    """One chunk's inputs: ``mark`` becomes its posting's id, ``contra`` is the program's
    ``system.points_expired`` account, ``part`` (k, n) takes only accounts of the k-th of n parts
    (PostgreSQL: parallel workers never share an account), ``after`` (SQLite) is the last account
    an earlier chunk of the run took, ``unchecked`` (PostgreSQL) runs the statement without its
    foreign-key checks, which it proves (:mod:`membership.db.references`)."""

    program_id: uuid.UUID
    now: dt.datetime
    chunk_size: int
    account_id: uuid.UUID | None
    member_id: uuid.UUID | None
    mark: uuid.UUID
    contra: uuid.UUID
    part: tuple[int, int]
    after: str
    unchecked: bool


async def expire_chunk(
    program: ProgramConfig,
    now: dt.datetime,
    chunk_size: int,
    account_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    part: tuple[int, int] = (0, 1),
    after: str = "",
    unchecked: bool = False,
) -> ExpiredChunk:
    """Expire, inside the caller's transaction, every due lot of the next accounts with due lots of
    ``program`` (of one account when given; of the accounts in part k of n when ``part`` is (k, n),
    PostgreSQL only): the lots, one entry per account plus the contra entry, and the balances.
    The accounts are those owning the next ``chunk_size`` due lots on PostgreSQL, and the next
    ``chunk_size`` accounts in account order after ``after`` on SQLite. ``unchecked`` skips the
    foreign-key checks of PostgreSQL's statement (only when :func:`may_skip_reference_checks`)."""
    contra = await system_account(program.id, Kind.POINTS_EXPIRED)
    if is_sqlite():
        expire = _expire_on_sqlite
    else:
        expire = _expire_on_citus if await citus.is_citus() else _expire_on_postgres
    chunk = await expire(
        _Chunk(program.id, now, chunk_size, account_id, member_id, new_id(), contra, part, after, unchecked)
    )
    if chunk.lots:
        emit(Event("points.expired", program.id, member_id, {"lots": chunk.lots, "points": chunk.points}))
    return chunk


# PostgreSQL: one statement. A chunk takes the accounts of the next due lots and expires all
# their due lots (one entry and one balance update per account for the whole run). Accounts are
# locked first, as a purchase locks them, skipping those a till holds (they wait for the next
# chunk): the job never waits on a till nor deadlocks with one. NO KEY UPDATE locks leave the
# rows free for a till's foreign-key checks (its entries, its sales). The UPDATE of the lots
# re-reads a lot a till changed since the statement began, and returns what it expired:
# ``expired`` was 0 before, as a lot with points left has expired none (constraint
# ``expired_only_when_empty``). Every row the statement refers to it locked (the accounts; the
# contra account, shared) or inserted (the posting), or a locked row refers to (the program): it
# proves its foreign keys.
_POSTGRES = """
WITH candidate AS (
  SELECT account_id FROM points_lot WHERE program_id = {} AND remaining > 0 AND expires_at <= {}{}
  ORDER BY expires_at LIMIT {}
), account AS (
  SELECT id FROM ledger_account WHERE program_id = {} AND id IN (SELECT account_id FROM candidate)
  FOR NO KEY UPDATE SKIP LOCKED
), lot AS (
  UPDATE points_lot SET expired = expired + remaining, remaining = 0, expiry_posting_id = {}
  WHERE program_id = {} AND account_id IN (SELECT id FROM account) AND remaining > 0 AND expires_at <= {}
  RETURNING account_id, expired
), total AS (
  SELECT account_id, CAST(SUM(expired) AS BIGINT) AS points FROM lot GROUP BY account_id
), posting AS (
  INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason, created_at)
  SELECT mark, CAST({} AS uuid), CAST({} AS uuid), 'expire', NULL, NULL, '', reason, at
  FROM (SELECT CAST({} AS uuid) AS mark, CAST({} AS text) AS reason, CAST({} AS timestamptz) AS at) AS p
  WHERE EXISTS (SELECT 1 FROM lot)
), contra AS (
  SELECT id FROM ledger_account WHERE program_id = {} AND id = {} FOR KEY SHARE
), entry AS (
  INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id, created_at)
  SELECT uuid7(), p.program, p.mark, x.account_id, x.points, 'expiry', p.reason, NULL, p.at
  FROM (SELECT account_id, -points AS points FROM total
        UNION ALL SELECT (SELECT id FROM contra), SUM(points) FROM total HAVING COUNT(*) > 0) AS x
  CROSS JOIN (SELECT CAST({} AS uuid) AS mark, CAST({} AS uuid) AS program, CAST({} AS text) AS reason,
              CAST({} AS timestamptz) AS at) AS p
), balance AS (
  UPDATE ledger_account SET balance = ledger_account.balance - total.points, updated_at = {}
  FROM total WHERE ledger_account.program_id = {} AND ledger_account.id = total.account_id
)
SELECT (SELECT COUNT(*) FROM lot) AS lots, COALESCE(SUM(points), 0) AS points, COUNT(*) AS accounts FROM total
"""


async def _expire_on_postgres(c: _Chunk) -> ExpiredChunk:
    only, account = (" AND account_id = {}", [c.account_id]) if c.account_id else ("", [])
    part, parts = c.part
    if parts > 1:  # the last byte of a UUID is random: parts of about the same size
        only, account = only + " AND get_byte(uuid_send(account_id), 15) % {} = {}", [*account, parts, part]
    async with proven_references(c.unchecked):
        totals = await fetch_one(
            _POSTGRES.replace("{}{}", "{}" + only, 1),
            *(c.program_id, c.now, *account, c.chunk_size, c.program_id, c.mark, c.program_id, c.now),
            *(c.program_id, c.member_id, c.mark, REASON, c.now),
            *(c.program_id, c.contra, c.mark, c.program_id, REASON, c.now),
            *(c.now, c.program_id),
        )
    return ExpiredChunk(int(totals["lots"]), int(totals["points"]), int(totals["accounts"]))


async def _expire_on_citus(c: _Chunk) -> ExpiredChunk:
    """Citus: PostgreSQL's steps as separate statements, each filtered by the program so the one
    worker holding it runs it (Citus plans the single statement's inserts from a CTE through the
    coordinator). The accounts are locked as on PostgreSQL, skipping those a till holds."""
    only, account = (" AND account_id = {}", [c.account_id]) if c.account_id else ("", [])
    part, parts = c.part
    if parts > 1:
        only, account = only + " AND get_byte(uuid_send(account_id), 15) % {} = {}", [*account, parts, part]
    locked = await fetch(
        "SELECT id FROM ledger_account WHERE program_id = {} AND id IN (SELECT account_id FROM points_lot"
        f" WHERE program_id = {{}} AND remaining > 0 AND expires_at <= {{}}{only} ORDER BY expires_at LIMIT {{}})"
        " FOR NO KEY UPDATE SKIP LOCKED",
        *(c.program_id, c.program_id, c.now, *account, c.chunk_size),
    )
    if not locked:
        return ExpiredChunk(0, 0, 0)
    lots = await fetch(
        "UPDATE points_lot SET expired = expired + remaining, remaining = 0, expiry_posting_id = {}"
        " WHERE program_id = {} AND account_id = ANY({}) AND remaining > 0 AND expires_at <= {}"
        " RETURNING account_id, expired",
        *(c.mark, c.program_id, [row["id"] for row in locked], c.now),
    )
    totals: dict[uuid.UUID, int] = {}
    for lot in lots:
        totals[lot["account_id"]] = totals.get(lot["account_id"], 0) + int(lot["expired"])
    if not totals:
        return ExpiredChunk(0, 0, 0)
    points = sum(totals.values())
    await execute(
        "INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason, created_at)"
        " VALUES ({}, {}, {}, 'expire', NULL, NULL, '', {}, {})",
        *(c.mark, c.program_id, c.member_id, REASON, c.now),
    )
    entries = [*((a, -n) for a, n in totals.items()), (c.contra, points)]
    args: list = []
    for account_id, amount in entries:
        args += [new_id(), c.program_id, c.mark, account_id, amount, REASON, c.now]
    await execute(
        "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id, created_at)"
        " VALUES " + ", ".join("({}, {}, {}, {}, {}, 'expiry', {}, NULL, {})" for _ in entries),
        *args,
    )
    cases = " ".join("WHEN id = {} THEN CAST({} AS BIGINT)" for _ in totals)
    await execute(
        f"UPDATE ledger_account SET balance = balance - CASE {cases} END, updated_at = {{}}"
        " WHERE program_id = {} AND id = ANY({})",
        *(value for pair in totals.items() for value in pair),
        c.now,
        c.program_id,
        list(totals),
    )
    return ExpiredChunk(len(lots), points, len(totals))


_DUE_LOT = "remaining > 0 AND expires_at <= {}"  # a lot with points left whose expiry has come


async def _expire_on_sqlite(c: _Chunk) -> ExpiredChunk:
    """SQLite (one writer: nothing to lock): what the next accounts in account order have due goes
    to a temporary table, one row per account (memory, no WAL); then the lots of those accounts
    are expired in place (they are stored by account: a range of the table) and the entries and
    balances written from the temporary table."""
    due = f" AND program_id = {{}} AND {_DUE_LOT}"
    if c.account_id:
        accounts, args = "account_id = {}", [c.account_id]
    else:
        accounts = (
            "account_id > {} AND account_id <= (SELECT MAX(account_id) FROM (SELECT DISTINCT account_id"
            f" FROM points_lot WHERE account_id > {{}}{due} ORDER BY account_id LIMIT {{}}))"
        )
        args = [c.after, c.after, c.program_id, c.now, c.chunk_size]
    await execute(
        "CREATE TEMP TABLE IF NOT EXISTS expiring_account (account_id TEXT PRIMARY KEY, lots INTEGER, points INTEGER)"
    )
    await execute("DELETE FROM temp.expiring_account")
    await execute(
        "INSERT INTO temp.expiring_account SELECT account_id, COUNT(*), SUM(remaining) FROM points_lot"
        f" WHERE {accounts}{due} GROUP BY account_id",
        *args,
        *(c.program_id, c.now),
    )
    totals = await fetch_one(
        "SELECT COALESCE(SUM(lots), 0) AS lots, COALESCE(SUM(points), 0) AS points, COUNT(*) AS accounts,"
        " MIN(account_id) AS first, MAX(account_id) AS through FROM temp.expiring_account"
    )
    chunk = ExpiredChunk(
        int(totals["lots"]), int(totals["points"]), int(totals["accounts"]), str(totals["through"] or "")
    )
    if not chunk.lots:
        return chunk
    await execute(
        "UPDATE points_lot SET expired = expired + remaining, remaining = 0, expiry_posting_id = {}"
        f" WHERE program_id = {{}} AND account_id >= {{}} AND account_id <= {{}} AND {_DUE_LOT}",
        *(c.mark, c.program_id, totals["first"], totals["through"], c.now),
    )
    await execute(
        "INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason, created_at)"
        " VALUES ({}, {}, {}, 'expire', NULL, NULL, '', {}, {})",
        *(c.mark, c.program_id, c.member_id, REASON, c.now),
    )
    await execute(
        "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id,"
        " created_at) SELECT uuid7(), {}, {}, account_id, -points, 'expiry', {}, NULL, {}"
        " FROM temp.expiring_account UNION ALL SELECT uuid7(), {}, {}, {}, {}, 'expiry', {}, NULL, {}",
        *(c.program_id, c.mark, REASON, c.now, c.program_id, c.mark, c.contra, chunk.points, REASON, c.now),
    )
    await execute(
        "UPDATE ledger_account SET balance = balance - x.points, updated_at = {}"
        " FROM temp.expiring_account AS x WHERE ledger_account.program_id = {} AND ledger_account.id = x.account_id",
        c.now,
        c.program_id,
    )
    return chunk


@job_chunk
async def _expire_one_chunk(
    program: ProgramConfig, now: dt.datetime, chunk_size: int, part: tuple[int, int], after: str, unchecked: bool
) -> ExpiredChunk:
    return await expire_chunk(program, now, chunk_size, part=part, after=after, unchecked=unchecked)


async def expire_points(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """Expire every due lot of every program, one committed chunk at a time (in parallel parts
    on PostgreSQL, without the foreign-key checks its statement proves when the role may)."""
    unchecked = await may_skip_reference_checks()
    due = await fetch_one("SELECT COUNT(*) AS n FROM points_lot WHERE remaining > 0 AND expires_at <= {}", now)
    total = int(due["n"])
    done = ExpiredChunk(0, 0, 0)
    progress(0, total)
    for program in await list_programs():

        async def work(part: int, parts: int, program: ProgramConfig = program) -> None:
            nonlocal done
            pace = Pace(chunk_size, workers=parts)
            after = ""
            while (chunk := await _expire_one_chunk(program, now, pace.size, (part, parts), after, unchecked)).lots:
                after = chunk.through
                done = ExpiredChunk(done.lots + chunk.lots, done.points + chunk.points, done.accounts + chunk.accounts)
                progress(done.lots, total)
                await pace.rest()

        await in_parts(work)
    return JobResult(
        done.lots,
        f"过期积分 {done.points}（{done.accounts} 个账户的 {done.lots} 批）"
        f" / {done.points} points expired in {done.lots} lots of {done.accounts} member accounts",
    )
