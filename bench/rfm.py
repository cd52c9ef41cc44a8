"""RFM benchmark: the ``refresh-member-scores`` job's RFM scores and lifecycle stages over 1M members
and 10M sales, on SQLite and PostgreSQL.

    python bench/rfm.py --quick                  # 100k members, 1M sales, both databases
    python bench/rfm.py                          # 1M members, 10M sales (--db sqlite|postgres|both)
    python bench/rfm.py --db postgres --members 300000 --sales 3000000 --chunk-size 5000

Per database it migrates, creates a merchant, three stores and a program through the services,
then loads the data set-based in SQL (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL; no Python loop per row; ids are ``uuid7()`` as the kernel makes them): members
enrolled over three years (four in five with a birthday, one in ten of those lunar), and sales
over the last two years written in time order as tills write them, seven in ten members buying,
a tenth of the buyers four times as often as the rest, one sale in fifty partly refunded and one
in a hundred wholly. Secondary indexes are dropped for the load and built after it, then the
tables analysed, as a restore would.

Then it times :func:`membership.crm.scores.refresh_program` (what the job runs for each program:
the quintile cuts in one read, the members' figures and stages in paced chunks, lunar birthday
months) as of the load's moment, and runs it again as of a minute later (it rewrites only rows
whose figures changed). PostgreSQL runs on a throwaway cluster with fsync on and the server
settings of bench/jobs.py. It prints figures and never asserts them; the last line per database
is::

    RESULT db=sqlite members=1000000 sales=10000000 rfm_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time

from cluster import NoPostgres, bench_database  # bench/ is on the path as python bench/rfm.py
from jobs import POSTGRES_SETTINGS, Raw

from membership.config import Settings
from membership.db import close_database, open_database
from membership.db.migrate import migrate

LOADED_TABLES = ("member", "sale")
BASE = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)  # the load's "now": sales run up to it
SALE_DAYS = 730
ENROL_DAYS = 1095


class Sql:
    """The expressions SQLite and PostgreSQL spell differently (values generated here, inlined)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.base = BASE.strftime("%Y-%m-%d %H:%M:%S")

    def seq(self, n: int) -> tuple[str, str]:
        if self.sqlite:
            return f"WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {n - 1}) ", "seq"
        return "", f"generate_series(CAST(0 AS BIGINT), {n - 1}) AS seq(i)"

    def ts(self, seconds: str) -> str:
        """``BASE`` moved by ``seconds`` (an integer SQL expression), as the kernel stores it."""
        if self.sqlite:
            return f"(datetime('{self.base}', ({seconds}) || ' seconds') || '+00:00')"
        return f"('{self.base}+00'::timestamptz + make_interval(secs => ({seconds})))"

    def date(self, days: str) -> str:
        if self.sqlite:
            return f"date('1960-01-01', ({days}) || ' days')"
        return f"(DATE '1960-01-01' + CAST(({days}) AS INTEGER))"

    def uuid(self, value) -> str:
        return f"'{value}'" if self.sqlite else f"'{value}'::uuid"

    def member_no(self, i: str) -> str:
        return f"'9' || printf('%011d', {i})" if self.sqlite else f"'9' || lpad(CAST({i} AS TEXT), 11, '0')"

    def json(self, text: str) -> str:
        return f"'{text}'" if self.sqlite else f"'{text}'::json"


def load_statements(q: Sql, ids: dict, members: int, sales: int) -> list[tuple[str, str]]:
    """(label, SQL) of the load, in order. Member i: enrolled (i * 7) % 1095 days before BASE;
    a birthday unless i % 5 = 4, lunar when i % 50 < 4. Sale i: at BASE − 730 days + i × (730
    days / sales), by member (i × 48271) % buyers (a quarter of the sales go to the first tenth of
    the buyers), store i % 3; partly refunded when i % 50 = 7, wholly when i % 100 = 13."""
    program = q.uuid(ids["program"])
    stores = [q.uuid(s) for s in ids["stores"]]
    buyers = members * 7 // 10
    prefix, source = q.seq(members)
    sale_prefix, sale_source = q.seq(sales)
    step = SALE_DAYS * 86400 / sales
    member_i = f"CASE WHEN i % 4 = 0 THEN (i * 48271) % {max(1, buyers // 10)} ELSE (i * 48271) % {buyers} END"
    total = "(500 + (i * 37) % 30000)"
    if q.sqlite:
        member_of = (
            f"CREATE TEMP TABLE bench_member (i INTEGER PRIMARY KEY, id TEXT);"
            f" INSERT INTO bench_member SELECT CAST(substr(member_no, 2) AS INTEGER), id FROM member"
            f" WHERE program_id = {program}"
        )
        join = "JOIN bench_member bm ON bm.i = x.member_i"
        member_id = "bm.id"
    else:
        member_of = ""
        join = f"JOIN member bm ON bm.program_id = {program} AND bm.member_no = {q.member_no('x.member_i')}"
        member_id = "bm.id"
    store = f"CASE x.i % 3 WHEN 0 THEN {stores[0]} WHEN 1 THEN {stores[1]} ELSE {stores[2]} END"
    statements = [
        (
            "members",
            f"{prefix}INSERT INTO member (id, program_id, member_no, name, gender, birthday, birthday_calendar,"
            " preferences, tags, source_channel, consents, created_store_id, status, created_at, updated_at)"
            f" SELECT uuid7(), {program}, {q.member_no('i')}, '会员' || i,"
            " CASE i % 3 WHEN 0 THEN 'female' WHEN 1 THEN 'male' ELSE 'unknown' END,"
            f" CASE WHEN i % 5 = 4 THEN NULL ELSE {q.date('(i * 13) % 18000')} END,"
            f" CASE WHEN i % 50 < 4 THEN 'lunar' ELSE 'solar' END, {q.json('{}')}, {q.json('[]')}, 'store',"
            f" {q.json('{}')}, {stores[0]}, 'active', {q.ts(f'-((i * 7) % {ENROL_DAYS}) * 86400')},"
            f" {q.ts(f'-((i * 7) % {ENROL_DAYS}) * 86400')} FROM {source}",
        ),
    ]
    if member_of:
        statements += [("", part) for part in member_of.split("; ")]
    statements.append(
        (
            "sales",
            f"{sale_prefix}INSERT INTO sale (id, program_id, member_id, store_id, occurred_at, total, subtotal,"
            " discount, member_discount, points_earned, points_redeemed, growth_earned, refunded_amount, status,"
            f" attributes, created_at) SELECT uuid7(), {program}, {member_id}, {store},"
            f" {q.ts(f'CAST(x.i * {step} AS INTEGER) - {SALE_DAYS * 86400}')}, x.total, x.total, 0, 0, x.total / 100,"
            " 0, 0, CASE WHEN x.i % 100 = 13 THEN x.total WHEN x.i % 50 = 7 THEN x.total / 3 ELSE 0 END,"
            " CASE WHEN x.i % 100 = 13 THEN 'refunded' WHEN x.i % 50 = 7 THEN 'partially_refunded'"
            f" ELSE 'completed' END, '{{}}', {q.ts(f'CAST(x.i * {step} AS INTEGER) - {SALE_DAYS * 86400}')}"
            f" FROM (SELECT i, {member_i} AS member_i, {total} AS total FROM {sale_source}) x {join}",
        )
    )
    return statements


async def prepare(settings: Settings) -> dict:
    """Migrate; a merchant, three stores, a program."""
    from membership.org import service as org

    await open_database(settings)
    try:
        await migrate()
        merchant = await org.create_merchant("压测连锁")
        stores = [await org.create_store(merchant, f"R0{n}", f"压测店{n}") for n in range(1, 4)]
        program = await org.create_program(merchant, "压测会员")
    finally:
        await close_database()
    return {"program": program.id, "stores": stores}


async def secondary_indexes(raw: Raw) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the loaded tables' indexes that back no constraint."""
    tables = ", ".join(f"'{t}'" for t in LOADED_TABLES)
    if raw.sqlite is not None:
        return await raw.rows(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({tables})"
        )
    return await raw.rows(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        f" JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ({tables})"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    )


async def load(settings: Settings, ids: dict, members: int, sales: int) -> float:
    """Bulk-load set-based, secondary indexes built after; the seconds it took."""
    started = time.perf_counter()
    raw = await Raw(settings).open()
    q = Sql(settings.is_sqlite)
    try:
        if raw.sqlite is not None:
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -2000000", "temp_store = MEMORY"):
                raw.sqlite.execute(f"PRAGMA {pragma}")
        else:
            await raw.execute("SET session_replication_role = replica")
            await raw.execute("SET maintenance_work_mem = '1GB'")
        indexes = await secondary_indexes(raw)
        await raw.execute("BEGIN")
        for name, _ in indexes:
            await raw.execute(f'DROP INDEX "{name}"')
        step = time.perf_counter()
        for label, sql in load_statements(q, ids, members, sales):
            if label == "sales" and raw.pg is not None:  # the member join needs its index
                await raw.execute(
                    'CREATE UNIQUE INDEX IF NOT EXISTS member_member_no_unique ON "member" ("program_id", "member_no")'
                )
            await raw.execute(sql)
            if label:
                print(f"    {label:<10} {time.perf_counter() - step:7.1f} s", flush=True)
        step = time.perf_counter()
        for _, sql in indexes:
            await raw.execute(sql.replace(" INDEX ", " INDEX IF NOT EXISTS ", 1))
        await raw.execute("COMMIT")
        print(f"    {'indexes':<10} {time.perf_counter() - step:7.1f} s", flush=True)
        step = time.perf_counter()
        if raw.sqlite is not None:
            raw.sqlite.execute("DROP TABLE IF EXISTS temp.bench_member")
            raw.sqlite.execute("PRAGMA journal_mode = WAL")
            raw.sqlite.execute("PRAGMA analysis_limit = 2000")
            raw.sqlite.execute("ANALYZE")
        else:
            await raw.execute("SET session_replication_role = DEFAULT")
            await raw.execute(f"VACUUM (ANALYZE) {', '.join(LOADED_TABLES)}")
            await raw.execute("CHECKPOINT")
        print(f"    {'analyze':<10} {time.perf_counter() - step:7.1f} s", flush=True)
    finally:
        await raw.close()
    return time.perf_counter() - started


class Watch:
    """Progress every 15 s."""

    def __init__(self) -> None:
        self.started = self.printed = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.printed >= 15:
            self.printed = now
            print(f"    refresh: {done:,}/{total:,} ({now - self.started:.0f} s)", flush=True)


async def timed_refresh(settings: Settings, ids: dict, chunk: int | None) -> dict:
    """The refresh as of BASE, timed with its parts, then again a minute later."""
    from membership.crm import scores
    from membership.db import fetch
    from membership.org.service import get_program

    await open_database(settings)
    try:
        program = await get_program(ids["program"])
        found = {}
        print(f"  load average before the refresh: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        started = time.perf_counter()
        cuts = await scores.quintile_cuts(program, BASE - dt.timedelta(days=365), BASE)
        print(f"  the quintile cuts alone: {time.perf_counter() - started:.1f} s ({cuts.buyers:,} buyers)", flush=True)
        for label, at in (("first", BASE), ("again", BASE + dt.timedelta(minutes=1))):
            started = time.perf_counter()
            refreshed = await scores.refresh_program(program, at, Watch(), chunk)
            found[label] = {
                "s": time.perf_counter() - started,
                "members": refreshed.members,
                "changed": refreshed.changed,
            }
            print(
                f"  refresh ({label}): {found[label]['s']:.1f} s; {refreshed.members:,} members,"
                f" {refreshed.changed:,} rows written, {refreshed.birthdays:,} lunar birthday months set",
                flush=True,
            )
        stages = await fetch(
            "SELECT stage, COUNT(*) AS n FROM member_score WHERE program_id = {} GROUP BY stage ORDER BY stage",
            program.id,
        )
        found["stages"] = {row["stage"]: int(row["n"]) for row in stages}
        print(f"  stages: {found['stages']}", flush=True)
    finally:
        await close_database()
    return found


async def bench(settings: Settings, args: argparse.Namespace) -> dict:
    ids = await prepare(settings)
    print(f"  loading {args.members:,} members and {args.sales:,} sales", flush=True)
    loaded = await load(settings, ids, args.members, args.sales)
    print(f"  loaded in {loaded:.1f} s", flush=True)
    return await timed_refresh(settings, ids, args.chunk_size)


def run_one(db: str, args: argparse.Namespace) -> int:
    try:
        with bench_database(db, "rfm", POSTGRES_SETTINGS) as (settings, _):
            found = asyncio.run(bench(settings, args))
    except NoPostgres as exc:
        print(f"!!! {exc}")
        return 2
    first = found["first"]
    print(
        f"RESULT db={db} members={args.members} sales={args.sales} rfm_s={first['s']:.1f}"
        f" again_s={found['again']['s']:.1f}",
        flush=True,
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sales", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="100k members, 1M sales")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--chunk-size", type=int, help="a fixed chunk size (default: the kernel paces the job)")
    args = parser.parse_args()
    if args.quick:
        args.members, args.sales = min(args.members, 100_000), min(args.sales, 1_000_000)
    status = 0
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        print(f"\n### {db}", flush=True)
        status = max(status, run_one(db, args))
    return status


if __name__ == "__main__":
    sys.exit(main())
