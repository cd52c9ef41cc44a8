"""The till's purchase stays within its budget of round trips to the database (issue 23): every
statement the driver sends is counted — Piccolo's, our own SQL, BEGIN and COMMIT, savepoints,
what a pooled connection sends when it goes back — so a change that adds one fails here instead
of slowing every shop's till. Throughput and latency are measured by bench/earn.py, not here.

Every table a purchase touches carries the program and every statement names it, so the till
path can be distributed by the program (Citus, docs/scaling.md) with each statement routed to the
one node that holds the program's rows."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from membership.db import engine as db_engine
from membership.db import execute, fetch, fetch_one
from tests.helpers import ledger_violations

# BEGIN, the member locked, the key looked up, the accounts read, the sale with its lines and
# payments (one statement on PostgreSQL, three on SQLite), the posting, the balances (one UPDATE),
# the lot, the entries, the sale's earnings, the tier check, the key stored, COMMIT. SQLite adds
# the group commit's SAVEPOINT and RELEASE.
BUDGET = {"sqlite": 17, "postgres": 13}
REPLAY_BUDGET = {"sqlite": 6, "postgres": 4}  # BEGIN, member, key found, COMMIT (+ savepoint pair)


@contextlib.contextmanager
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple]]]:
    """Every statement sent to the database while the block runs, as the driver sends it, with its
    arguments."""
    sent: list[tuple[str, tuple]] = []

    def recorded(method):
        async def run(self, query, *args, **kwargs):
            sent.append((str(query), args))
            return await method(self, query, *args, **kwargs)

        return run

    with monkeypatch.context() as patch:
        patch.setattr(db_engine.InlineConnection, "execute", recorded(db_engine.InlineConnection.execute))
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            patch.setattr(asyncpg.Connection, name, recorded(getattr(asyncpg.Connection, name)))
        yield sent


@contextlib.contextmanager
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The :func:`statements` of the block, each on one line (the list is filled as it ends)."""
    lines: list[str] = []
    with statements(monkeypatch) as sent:
        yield lines
    lines.extend(" ".join(query.split()) for query, _ in sent)


async def test_a_purchase_stays_within_its_round_trips(any_api, monkeypatch):
    api = any_api
    engine = "sqlite" if db_engine.is_sqlite() else "postgres"
    for _ in range(2):  # the program, its rules and the key are cached after the first sales
        assert (await api.buy(api.sale(), key="store")).status_code == 201
    key = uuid.uuid4().hex
    with round_trips(monkeypatch) as sent:
        answer = await api.buy(api.sale(8_800), key="store", idem=key)
    assert answer.status_code == 201, answer.text
    assert len(sent) <= BUDGET[engine], "\n".join(s[:100] for s in sent)
    assert any(s.startswith("INSERT INTO ledger_entry") for s in sent)  # counted where the work happens
    await _each_names_the_program(sent)
    body = answer.json()
    assert body["points_earned"] == 88 and body["balances"]["points"] == 2 * 99 + 88
    sale = await fetch_one("SELECT points_earned, growth_earned FROM sale WHERE id = {}", body["id"])
    assert (sale["points_earned"], sale["growth_earned"]) == (88, body["growth_earned"])
    assert await ledger_violations() == []

    with round_trips(monkeypatch) as sent:
        replay = await api.buy(api.sale(8_800), key="store", idem=key)
    assert replay.status_code == 201 and replay.json() == body
    assert len(sent) <= REPLAY_BUDGET[engine], "\n".join(s[:100] for s in sent)


# idempotency_key is keyed by its scope, which for a till's purchase is the program's id
KEYED_BY_SCOPE = {"idempotency_key"}
TABLE_WORDS = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?([a-z_]+)"?', re.IGNORECASE)
CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


async def _each_names_the_program(sent: list[str]) -> None:
    """Every table the statements touch has ``program_id`` and every statement filters or writes
    by it (the key table by its scope, the program)."""
    if db_engine.is_sqlite():
        rows = await fetch("SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p")
    else:
        rows = await fetch("SELECT table_name AS t, column_name AS c FROM information_schema.columns")
    columns: dict[str, set[str]] = {}
    for row in rows:
        columns.setdefault(row["t"], set()).add(row["c"])
    touched: set[str] = set()
    for statement in sent:
        if CONTROL.match(statement):
            continue
        tables = {t.lower() for t in TABLE_WORDS.findall(statement)} & columns.keys()  # not CTE names
        assert tables, statement
        touched |= tables
        named = "program_id" in statement or (tables <= KEYED_BY_SCOPE and "scope" in statement)
        assert named, f"does not name the program: {statement}"
    without = {t for t in touched - KEYED_BY_SCOPE if "program_id" not in columns[t]}
    assert without == set(), without
    assert {"sale", "sale_line", "sale_payment", "ledger_entry", "ledger_account", "member"} <= touched


@pytest.fixture
async def pg_api(plain_pg_db):
    """The API over a shop on plain PostgreSQL (its planner's choices are what is tested)."""
    from tests.conftest import _api

    async for value in _api(plain_pg_db):
        yield value


async def test_a_members_lots_are_read_through_the_account_index_even_without_statistics(
    pg_api, plain_pg_db, monkeypatch
):
    """Identify (the next expiry) and a payment with points read one member's lots by program,
    account and expiry. Keyed by the account alone, the index lost to the program-wide
    ``points_lot_due`` on a table without statistics (a new shop, an import before autovacuum),
    and each lookup read every lot of the program expiring that day."""
    api = pg_api
    await execute("ANALYZE points_lot")  # empty, as after a bulk load of members
    assert (await api.buy(api.sale(50_000))).status_code == 201  # 500 points in a lot expiring in 365 days
    lot = await fetch_one("SELECT program_id, expires_at FROM points_lot")
    other = await fetch_one(  # the lots of the program's other members expiring that day, on one account here
        "SELECT id FROM ledger_account WHERE program_id = {} AND member_id IS NULL LIMIT 1", lot["program_id"]
    )
    await execute(
        "INSERT INTO points_lot (id, program_id, account_id, points, remaining, expired, earned_at, expires_at)"
        " SELECT gen_random_uuid(), {}, {}, 10, 10, 0, now(), CAST({} AS timestamptz) - n * interval '1 second'"
        " FROM generate_series(1, 3000) AS n",
        lot["program_id"],
        other["id"],
        lot["expires_at"],
    )
    with statements(monkeypatch) as sent:
        found = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13812345678"})
        assert found.status_code == 200 and found.json()["next_expiry"]["points"] == 500
        paid = await api.buy(
            api.sale(10_000, payments=[{"method": "points", "points": 100}, {"method": "cash", "amount": 9_900}])
        )
        assert paid.status_code == 201, paid.text
    reads = [(q, args) for q, args in sent if q.lstrip().upper().startswith("SELECT") and "FROM points_lot " in q]
    assert len(reads) >= 2  # the next expiry, the due lots counted before spending
    for query, args in reads:
        values = ", ".join("'" + str(value).replace("'", "''") + "'" for value in args)
        conn = await asyncpg.connect(plain_pg_db.database_url)
        try:
            await conn.execute("PREPARE lots AS " + query)
            for mode in ("force_generic_plan", "force_custom_plan"):  # asyncpg's turn generic after 5 runs
                await conn.execute(f"SET plan_cache_mode = {mode}")
                plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE lots({values})")
                assert '"points_lot_account"' in plan and "points_lot_due" not in plan, (mode, query, plan)
        finally:
            await conn.close()
