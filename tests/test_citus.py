"""The product on Citus (issue 25): the schema distributed by program as docs/scaling.md says, a
program's rows together on one worker, and a worker killed with ``kill -9`` in the middle of
purchases — the tills get 503 (retry), never a 500, and once the worker is back every purchase
that was acknowledged is there and the books balance.

Runs with ``MEMBERSHIP_TEST_CITUS`` set (CI: ``required``); the guarantees the PostgreSQL tests
check (the 1,000-way redeem race, replays of one key, caps at once, the stateful model) run on
Citus through the same fixtures (``pg_db`` / ``any_db``'s ``citus`` parameter)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from membership.db import citus, close_database, fetch, fetch_one, open_database
from membership.db.migrate import migrate
from membership.db.throwaway import ThrowawayCitus, citus_available, pg_bindir
from tests.conftest import CITUS, SECRET, _api
from tests.helpers import ledger_violations, make_shop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.citus,
    pytest.mark.skipif(not CITUS, reason="MEMBERSHIP_TEST_CITUS is not set: the Citus tests are off"),
]


@pytest.fixture
async def citus_db(citus_server, citus_template):
    from tests.conftest import _open_citus

    settings = await _open_citus(citus_server, citus_template)
    yield settings
    await close_database()


async def test_the_schema_is_distributed_by_program_with_reference_and_local_tables(citus_db):
    placed = await citus.placement()
    for table in ("member", "ledger_account", "ledger_posting", "ledger_entry", "points_lot", "sale", "sale_line"):
        assert placed[table] == "distributed", table
    for table in ("merchant", "program", "store", "staff"):
        assert placed[table] == "reference", table
    for table in ("idempotency_key", "audit_log", "job_run"):
        assert placed[table] == "local", table
    groups = await fetch(
        "SELECT DISTINCT colocationid FROM pg_dist_partition WHERE partmethod = 'h'"
    )  # one co-location group: a program's rows of every table on the same worker
    assert len(groups) == 1
    columns = await fetch(
        "SELECT DISTINCT column_to_column_name(logicalrelid, partkey) AS name FROM pg_dist_partition"
        " WHERE partmethod = 'h'"
    )
    assert [row["name"] for row in columns] == ["program_id"]
    keys = await fetch(
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'sale_line'::regclass"
        " AND contype IN ('p', 'f')"
    )
    assert {k["d"] for k in keys} >= {
        "PRIMARY KEY (id, program_id)",
        "FOREIGN KEY (sale_id, program_id) REFERENCES sale(id, program_id) ON DELETE RESTRICT",
    }
    assert await citus.distribute() == []  # idempotent: nothing left to place


async def test_a_new_connection_knows_the_bound_array_types_and_hides_shards_again(citus_db, monkeypatch):
    """asyncpg asks the catalog for each array type a statement binds, once per connection; on a
    coordinator that query took about a second (Citus's shard hiding) and a burst of tills opening
    connections stalled for tens of seconds. The pool's session setup asks for them all at once
    with hiding off, then turns hiding back on."""
    from membership.db.engine import current_engine

    asked: list[list[int]] = []
    introspect = asyncpg.Connection._introspect_types

    async def counted(self, typeoids, *rest):
        asked.append(list(typeoids))
        return await introspect(self, typeoids, *rest)

    monkeypatch.setattr(asyncpg.Connection, "_introspect_types", counted)
    pool = current_engine().pool
    connections = [await pool.acquire() for _ in range(3)]  # two were opened with the pool: a new one too
    try:
        for connection in connections:
            assert await connection.fetchval("SHOW citus.override_table_visibility") == "on"
            assert await connection.fetchval("SHOW citus.multi_shard_modify_mode") == "sequential"
            ids = [uuid.uuid4(), uuid.uuid4()]
            assert await connection.fetchval("SELECT cardinality(CAST($1 AS uuid[]))", ids) == 2
            assert await connection.fetchval("SELECT CAST($1 AS bigint[])", [1, 2]) == [1, 2]
    finally:
        for connection in connections:
            await pool.release(connection)
    new = [oids for oids in asked if 2951 in oids]  # uuid[]: asked once by the new connection's setup
    assert len(new) == 1 and len(asked) == 1, asked


async def test_a_program_s_rows_live_on_one_worker_and_programs_spread(citus_db, citus_server):
    async for api in _api(citus_db):
        for _ in range(2):
            assert (await api.buy(api.sale(), key="store")).status_code == 201
        program = api.shop.program.id
        nodes = await fetch(
            "SELECT DISTINCT s.nodeport FROM citus_shards s JOIN pg_dist_shard d ON d.shardid = s.shardid"
            " WHERE s.table_name::text IN ('member', 'sale', 'sale_line', 'ledger_entry', 'points_lot')"
            " AND d.shardid IN (SELECT get_shard_id_for_distribution_column(t, CAST({} AS uuid)) FROM unnest("
            "ARRAY['member', 'sale', 'sale_line', 'ledger_entry', 'points_lot']::regclass[]) AS t)",
            program,
        )
        assert len(nodes) == 1 and nodes[0]["nodeport"] in {w.port for w in citus_server.workers}
        programs = [(await make_shop()).program.id for _ in range(8)]
        spread = await fetch(
            "SELECT DISTINCT s.nodeport FROM citus_shards s WHERE s.shardid IN"
            " (SELECT get_shard_id_for_distribution_column('member', p) FROM unnest(CAST({} AS uuid[])) AS p)",
            programs,
        )
        assert len(spread) == 2  # eight programs: both workers hold some (a 1 in 128 chance of a fluke)
        assert await ledger_violations() == []


async def _purchases_while_a_worker_dies(api, worker) -> list[tuple[int, str | None]]:
    """Four tills buying at once, 40 purchases each; the first kills ``worker`` at its 11th.
    (status, sale id) of every answer."""
    answers: list[tuple[int, str | None]] = []

    async def till(n: int) -> None:
        for i in range(40):
            if i == 10 and n == 0:
                worker.kill()
            answer = await api.buy(api.sale(1_000 + n), key="store")
            answers.append((answer.status_code, answer.json().get("id") if answer.status_code == 201 else None))

    await asyncio.gather(*(till(n) for n in range(4)))
    return answers


@pytest.mark.skipif(pg_bindir() is None or not citus_available(pg_bindir()), reason="Citus is not installed")
async def test_a_worker_killed_during_purchases_loses_no_acknowledged_purchase():
    cluster = ThrowawayCitus(pg_bindir(), durable=True).start()  # its own cluster: a worker dies here
    try:
        await cluster.create_database("m")
        from membership.config import Settings

        settings = Settings(database_url=cluster.url("m"), secret_key=SECRET, pg_pool_size=8)
        await open_database(settings)
        await migrate()
        async for api in _api(settings):
            home = await fetch_one(
                "SELECT nodeport FROM citus_shards"
                " WHERE shardid = get_shard_id_for_distribution_column('member', CAST({} AS uuid))",
                api.shop.program.id,
            )
            worker = next(w for w in cluster.workers if w.port == home["nodeport"])  # the program's worker
            answers = await _purchases_while_a_worker_dies(api, worker)
            codes = {code for code, _ in answers}
            assert codes <= {201, 429, 503}, codes  # a worker away: "retry" (503, or 429 when they retry fast)
            assert 503 in codes and 201 in codes
            worker.resume()
            conn = await asyncpg.connect(cluster.url("m"))
            try:  # what the maintenance daemon does every minute: finish the two-phase commits
                await conn.execute("SELECT recover_prepared_transactions()")
            finally:
                await conn.close()
            acknowledged = [uuid.UUID(sale) for code, sale in answers if code == 201]
            found = await fetch_one("SELECT COUNT(*) AS n FROM sale WHERE id = ANY({})", acknowledged)
            assert found["n"] == len(acknowledged)
            assert await ledger_violations() == []
            after = await api.buy(api.sale(), key="store")  # the till works again
            assert after.status_code == 201, after.text
        await close_database()
    finally:
        cluster.stop()


async def test_an_existing_postgresql_database_moves_to_citus_with_its_rows(citus_server):
    from membership.config import Settings

    name = f"m_{uuid.uuid4().hex[:10]}"
    await citus_server.coordinator.execute("postgres", f"CREATE DATABASE {name}")
    settings = Settings(database_url=citus_server.url(name), secret_key=SECRET, pg_pool_size=4)
    await open_database(settings)  # a plain PostgreSQL database in use: no extension yet
    await migrate()
    async for api in _api(settings):
        for amount in (9_900, 1_200, 35_000):
            assert (await api.buy(api.sale(amount), key="store")).status_code == 201
    before = await fetch_one("SELECT COUNT(*) AS sales, SUM(total) AS total FROM sale")
    await close_database()
    await citus_server.make_distributed(name)  # the documented steps: workers' databases, extension, nodes
    await open_database(settings)
    try:
        assert await migrate() == []  # nothing to migrate: the tables are placed all the same
        placed = await citus.placement()
        assert placed["sale"] == placed["ledger_entry"] == "distributed" and placed["program"] == "reference"
        after = await fetch_one("SELECT COUNT(*) AS sales, SUM(total) AS total FROM sale")
        assert (after["sales"], after["total"]) == (before["sales"], before["total"]) == (3, 46_100)
        assert await ledger_violations() == []
        async for api in _api(settings):  # and sells on, distributed
            assert (await api.buy(api.sale(), key="store")).status_code == 201
    finally:
        await close_database()
