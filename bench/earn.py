"""Earn benchmark: POST /transactions throughput and latency on SQLite and PostgreSQL.

For each database it loads members (with their ledger accounts and a card each), starts the real
server (uvicorn, ``--workers`` as given), drives ``--clients`` concurrent keep-alive clients
issuing ``POST /api/v1/transactions`` with fresh idempotency keys (the maximum, at saturation),
then an open loop at ``--half-load`` of that maximum (the latency a till sees on a normal day),
then ``GET /api/v1/identify`` with random cards (at saturation, then open loop at the same share
of its maximum); and, in the same run, the database's floor: the
least a double-entry ledger writes for a purchase (the sale, its posting, the entry pair, the
balance) sent straight through the driver (sqlite3 / asyncpg), committed one by one with the same
durability. It prints figures and never asserts them. The last line per database is
machine-readable::

    RESULT db=sqlite earn_tps=… p99_ms=… p99_half_load_ms=… floor_tps=… ratio=… identify_p99_ms=…
           identify_p99_half_load_ms=… cpu_us_per_tx=…

(on one line). The CPU time of the app server, the database server and the load generator is read
from ``/proc`` around the earn phase and printed per purchase, with the rate the machine's cores
allow at that cost; the floor's is printed beside it.

    python bench/earn.py --quick                 # ~1 minute: 20k members, 5 s per phase
    python bench/earn.py                         # 100k members earning, identify at 1M members
    python bench/earn.py --db postgres --workers 2 --clients 64 --profile --socket

``--profile`` records the first server worker with py-spy during the earn phase
(``bench/profile-<db>.txt``, collapsed stacks) and prints the top frames.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
from cpu import own_cpu_seconds, postmaster_pid, tree_cpu_seconds  # bench/ is on the path
from serving import start_server

from membership.config import Settings, new_secret_key
from membership.db import close_database, open_database
from membership.db.migrate import migrate
from membership.db.throwaway import ThrowawayCitus, ThrowawayCluster, citus_available, pg_bindir
from membership.ledger.accounts import MEMBER_KINDS

HERE = Path(__file__).resolve().parent
CHUNK = 20_000


# -- data ----------------------------------------------------------------------------------------


async def prepare(settings: Settings, members: int, programs: int = 1) -> dict:
    """Migrate, create a merchant/store and ``programs`` programs, bulk-load members (spread over the
    programs in turn) with accounts and cards, and an API key; returns what the load needs."""
    from membership.access.service import create_api_key
    from membership.members.personal_data import vault
    from membership.org import service as org

    await open_database(settings)
    await migrate()
    merchant = await org.create_merchant("压测连锁")
    store = await org.create_store(merchant, "B01", "压测店")
    every = [await org.create_program(merchant, f"压测会员{n}", points_expiry_days=365) for n in range(programs)]
    program = every[0]
    key = await create_api_key("bench", ["pos"], merchant_id=merchant, rate_limit=100_000)
    await close_database()
    keeper = vault()
    enc = keeper.encrypt("credential:card_uid", "BENCH")  # not read by identify; one ciphertext for all
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    member_ids: list[str] = []
    member_program: dict[str, str] = {}
    cards: list[str] = []
    writer = _SQLiteLoader(settings) if settings.is_sqlite else await _PostgresLoader.open(settings)
    for first in range(0, members, CHUNK):
        count = min(CHUNK, members - first)
        rows_m, rows_a, rows_c = [], [], []
        for i in range(first, first + count):
            member_id, card, home = uuid.uuid4(), f"B{i:011X}", every[i % programs].id
            member_ids.append(str(member_id))
            member_program[str(member_id)] = str(home)
            cards.append(card)
            rows_m.append((member_id, home, f"9{i:011d}", f"会员{i}", store, now))
            rows_a += [(uuid.uuid4(), home, member_id, kind, now) for kind in _KINDS]
            digest = keeper.lookup_hash("credential:card_uid", card)
            rows_c.append((uuid.uuid4(), home, member_id, digest, enc, card[-4:], store, now))
        await writer.load(rows_m, rows_a, rows_c)
        print(f"\r  loaded {first + count:,} members", end="", flush=True)
    await writer.close()
    print(f"  ({time.perf_counter() - started:.1f} s)")
    return {
        "key": key.secret,
        "store": str(store),
        "program": program,
        "programs": [p.id for p in every],
        "members": member_ids,
        "member_program": member_program,
        "cards": cards,
    }


_KINDS = tuple(kind.value for kind in MEMBER_KINDS)  # every account a member has
_MEMBER_SQL = (
    "INSERT INTO member (id, program_id, member_no, name, gender, birthday_calendar, preferences, tags,"
    " source_channel, consents, created_store_id, status, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, 'unknown', 'solar', '{}', '[]', 'store', '{}', ?, 'active', ?, ?)"
)
_ACCOUNT_SQL = (
    "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at) VALUES (?, ?, ?, ?, 0, ?)"
)
_CREDENTIAL_SQL = (
    "INSERT INTO credential (id, program_id, member_id, kind, value_hash, value_enc, value_hint, state,"
    " store_id, issued_at, changed_at) VALUES (?, ?, ?, 'card_uid', ?, ?, ?, 'active', ?, ?, ?)"
)


class _SQLiteLoader:
    """executemany into the three tables with their secondary indexes dropped (re-created, with
    ANALYZE, at the end): maintaining them row by row made loads past 200k members crawl."""

    TABLES = ("member", "credential", "ledger_account")

    def __init__(self, settings: Settings) -> None:
        self.db = sqlite3.connect(settings.sqlite_path)
        marks = ", ".join("?" for _ in self.TABLES)
        self.indexes = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            self.TABLES,
        ).fetchall()
        with self.db:
            for name, _ in self.indexes:
                self.db.execute(f'DROP INDEX "{name}"')

    async def load(self, members: list, accounts: list, cards: list) -> None:
        def text(rows: list) -> list:
            return [tuple(str(v) if isinstance(v, uuid.UUID | dt.datetime) else v for v in row) for row in rows]

        with self.db:
            self.db.executemany(_MEMBER_SQL, [(*r, r[-1]) for r in text(members)])
            self.db.executemany(_ACCOUNT_SQL, text(accounts))
            self.db.executemany(_CREDENTIAL_SQL, [(*r, r[-1]) for r in text(cards)])

    async def close(self) -> None:
        with self.db:
            for _, sql in self.indexes:
                self.db.execute(sql)
        self.db.execute("ANALYZE")
        self.db.close()


class _PostgresLoader:
    @classmethod
    async def open(cls, settings: Settings) -> _PostgresLoader:
        import asyncpg

        loader = cls()
        loader.db = await asyncpg.connect(settings.database_url)
        return loader

    async def load(self, members: list, accounts: list, cards: list) -> None:
        async with self.db.transaction():
            await self.db.copy_records_to_table(
                "member",
                records=[
                    (*r[:4], "unknown", "solar", "{}", "[]", "store", "{}", r[4], "active", r[5], r[5]) for r in members
                ],
                columns=[
                    "id",
                    "program_id",
                    "member_no",
                    "name",
                    "gender",
                    "birthday_calendar",
                    "preferences",
                    "tags",
                    "source_channel",
                    "consents",
                    "created_store_id",
                    "status",
                    "created_at",
                    "updated_at",
                ],
            )
            await self.db.copy_records_to_table(
                "ledger_account",
                records=[(*r[:4], 0, r[4]) for r in accounts],
                columns=["id", "program_id", "member_id", "kind", "balance", "updated_at"],
            )
            await self.db.copy_records_to_table(
                "credential",
                records=[
                    (*r[:3], "card_uid", r[3], r[4], r[5], "active", uuid.UUID(str(r[6])), r[7], r[7]) for r in cards
                ],
                columns=[
                    "id",
                    "program_id",
                    "member_id",
                    "kind",
                    "value_hash",
                    "value_enc",
                    "value_hint",
                    "state",
                    "store_id",
                    "issued_at",
                    "changed_at",
                ],
            )

    async def close(self) -> None:
        await self.db.execute("ANALYZE")
        await self.db.close()


# -- the server and its load ---------------------------------------------------------------------


async def drive(
    url: str, clients: int, seconds: float, request, mark: Callable[[], None] | None = None
) -> tuple[float, list[float], Counter]:
    """``clients`` keep-alive loops sending ``request(session, rng)`` for ``seconds`` after a
    one-second warm-up; returns requests per second, latencies (ms) and status counts. ``mark``
    is called when the warm-up ends and once the last measured request is answered."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    warm_until = time.perf_counter() + 1.0
    stop_at = warm_until + seconds
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(n)
        while (now := time.perf_counter()) < stop_at:
            status = await request(session, rng)
            done = time.perf_counter()
            if now >= warm_until:
                latencies.append((done - now) * 1000)
                statuses[status] += 1

    async def marker() -> None:
        await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
        mark()

    async with aiohttp.ClientSession(url, connector=connector) as session:
        await asyncio.gather(*(client(n, session) for n in range(clients)), *([marker()] if mark else []))
    if mark is not None:
        mark()
    return len(latencies) / seconds, latencies, statuses


async def open_loop(url: str, rate: float, seconds: float, request) -> tuple[float, list[float], Counter]:
    """Requests sent at a fixed ``rate`` per second whatever the answers (open loop: a till does not
    wait for another till's answer) for ``seconds`` after a one-second warm-up. Latency counts from
    the moment a request was due, so a server that falls behind shows it (no coordinated omission)."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    connector = aiohttp.TCPConnector(limit=1024, force_close=False)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        start = time.perf_counter()
        warm_until = start + 1.0

        async def one(n: int, due: float) -> None:
            status = await request(session, random.Random(n))
            if due >= warm_until:
                latencies.append((time.perf_counter() - due) * 1000)
                statuses[status] += 1

        tasks = []
        for n in range(int(rate * (seconds + 1.0))):
            due = start + n / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)
    return len(latencies) / seconds, latencies, statuses


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def earn_request(data: dict, earning_members: int):
    headers = {"Authorization": f"Bearer {data['key']}", "Content-Type": "application/json"}
    members = data["members"][:earning_members]

    async def send(session: aiohttp.ClientSession, rng: random.Random) -> int:
        member = rng.choice(members)
        body = {
            "member_id": member,
            "program_id": data["member_program"][member],
            "store_id": data["store"],
            "lines": [{"sku": "6901", "name": "牛奶", "quantity": 1, "unit_price": rng.randrange(100, 50_000)}],
        }
        async with session.post(
            "/api/v1/transactions", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
        ) as answer:
            await answer.read()
            return answer.status

    return send


def identify_request(data: dict):
    headers = {"Authorization": f"Bearer {data['key']}"}
    cards = data["cards"]
    programs = [data["member_program"][m] for m in data["members"]]  # the card's member's program

    async def send(session: aiohttp.ClientSession, rng: random.Random) -> int:
        i = rng.randrange(len(cards))
        params = {"kind": "card_uid", "value": cards[i], "program_id": programs[i]}
        async with session.get("/api/v1/identify", params=params, headers=headers) as answer:
            await answer.read()
            return answer.status

    return send


# -- the raw-SQL floor ---------------------------------------------------------------------------


def _floor_statements(program_id: str, store_id: str, member_id: str, ids: dict, now: str, amount: int) -> list:
    """The database's floor for a purchase: the least a double-entry ledger writes for one (the sale,
    its posting, the posting's pair of entries in one INSERT, the balance), ``?`` placeholders."""
    sale, posting = str(uuid.uuid4()), str(uuid.uuid4())
    points = amount // 100
    return [
        (
            "INSERT INTO sale (id, program_id, member_id, store_id, receipt_no, occurred_at, total, points_earned,"
            " points_redeemed, growth_earned, refunded_amount, status, created_at)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 0, 0, 0, 'completed', ?)",
            (sale, program_id, member_id, store_id, now, amount, points, now),
        ),
        (
            "INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason,"
            " created_at) VALUES (?, ?, ?, 'purchase', ?, ?, 'pos', 'purchase', ?)",
            (posting, program_id, member_id, store_id, sale, now),
        ),
        (
            "INSERT INTO ledger_entry (id, program_id, posting_id, account_id, amount, rule, reason, store_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, 'base', 'r', ?, ?), (?, ?, ?, ?, ?, 'base', 'r', ?, ?)",
            (
                *(str(uuid.uuid4()), program_id, posting, ids["points"], points, store_id, now),
                *(str(uuid.uuid4()), program_id, posting, ids["system.points_issued"], -points, store_id, now),
            ),
        ),
        (
            "UPDATE ledger_account SET balance = balance + ?, updated_at = ? WHERE program_id = ? AND id = ?"
            " RETURNING balance",
            (points, now, program_id, ids["points"]),
        ),
    ]


def _account_ids(rows: list, program_id: str) -> dict:
    """member id -> {kind: account id}, plus the program's contra accounts under their kinds."""
    by_member: dict = {}
    system: dict = {}
    for account_id, member_id, kind in rows:
        if member_id is None:
            system[kind] = str(account_id)
        else:
            by_member.setdefault(str(member_id), {})[kind] = str(account_id)
    for ids in by_member.values():
        ids.update(system)
    return by_member


def sqlite_floor(settings: Settings, data: dict, earning: int, seconds: float, mark: Callable[[], None]) -> float:
    """Purchases through sqlite3 on one connection (SQLite has one writer), commit each; ``mark``
    is called as they start and once they end."""
    db = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = 1")
    program_id = str(data["program"].id)
    accounts = _account_ids(
        db.execute("SELECT id, member_id, kind FROM ledger_account WHERE program_id = ?", (program_id,)).fetchall(),
        program_id,
    )
    members = [m for m in data["members"][:earning] if data["member_program"][m] == program_id]
    rng = random.Random(7)
    mark()
    done, stop_at = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        member = rng.choice(members)
        now = str(dt.datetime.now(dt.UTC))
        db.execute("BEGIN IMMEDIATE")
        for sql, args in _floor_statements(program_id, data["store"], member, accounts[member], now, 1234):
            db.execute(sql, args).fetchall()
        db.execute("COMMIT")
        done += 1
    mark()
    db.close()
    return done / seconds


async def postgres_floor(
    settings: Settings, data: dict, earning: int, seconds: float, clients: int, mark: Callable[[], None]
) -> float:
    """Purchases through an asyncpg pool of ``clients`` connections, commit each; ``mark`` is
    called as they start and once they end."""
    import asyncpg

    program_id = str(data["program"].id)
    pool = await asyncpg.create_pool(settings.database_url, min_size=clients, max_size=clients)
    rows = await pool.fetch("SELECT id, member_id, kind FROM ledger_account WHERE program_id = $1", data["program"].id)
    accounts = _account_ids([(r["id"], r["member_id"], r["kind"]) for r in rows], program_id)
    members = [m for m in data["members"][:earning] if data["member_program"][m] == program_id]
    statements = {}
    done = 0
    mark()
    stop_at = time.perf_counter() + seconds

    def dollar(sql: str) -> str:
        parts = sql.split("?")
        return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))

    async def worker(n: int) -> None:
        nonlocal done
        rng = random.Random(n)
        async with pool.acquire() as connection:
            while time.perf_counter() < stop_at:
                member = rng.choice(members)
                now = dt.datetime.now(dt.UTC)
                async with connection.transaction():
                    for sql, args in _floor_statements(
                        program_id, data["store"], member, accounts[member], str(now), 1234
                    ):
                        query = statements.setdefault(sql, dollar(sql))
                        await connection.fetch(query, *(_pg_value(query, a) for a in args))
                done += 1

    await asyncio.gather(*(worker(n) for n in range(clients)))
    mark()
    await pool.close()
    return done / seconds


def _pg_value(query: str, value):
    """asyncpg wants real types: UUID text to UUID, timestamps to datetimes."""
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return uuid.UUID(value)
    if isinstance(value, str) and len(value) >= 25 and value[4] == "-" and value[10] == " ":
        return dt.datetime.fromisoformat(value)
    return value


# -- one database --------------------------------------------------------------------------------


async def _create_database(dsn: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{dsn}/postgres")
    await connection.execute("CREATE DATABASE bench")
    await connection.close()


async def _placement(settings: Settings, data: dict) -> None:
    """Where the purchases went: sales and programs per worker (each program on one)."""
    import asyncpg

    connection = await asyncpg.connect(settings.database_url)
    rows = await connection.fetch(
        "SELECT n.nodeport, COUNT(DISTINCT s.program_id) AS programs, COUNT(*) AS sales FROM sale s"
        " JOIN LATERAL (SELECT nodeport FROM citus_shards WHERE shardid ="
        " get_shard_id_for_distribution_column('sale', s.program_id)) n ON true GROUP BY n.nodeport ORDER BY 1"
    )
    await connection.close()
    for row in rows:
        print(f"  worker :{row['nodeport']}: {row['programs']} programs, {row['sales']:,} sales")


def run(db: str, args: argparse.Namespace) -> str:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{db}-"))
    cluster = None
    if db == "sqlite":
        url = f"sqlite:///{folder / 'membership.db'}"
    else:
        bindir = pg_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found (MEMBERSHIP_PG_BINDIR)")
        if db == "citus":
            if not citus_available(bindir):
                raise SystemExit("Citus is not installed (../shared/vendor/citus/install.sh)")
            cluster = ThrowawayCitus(bindir, durable=True, max_connections=300).start()
            asyncio.run(cluster.create_database("bench"))
        else:
            cluster = ThrowawayCluster(bindir, durable=True, max_connections=300).start()
            asyncio.run(_create_database(cluster.dsn))
        url = cluster.url("bench", socket=args.socket)
    settings = Settings(database_url=url, secret_key=new_secret_key(), base_dir=folder, pg_pool_size=args.pool)
    os.environ["MEMBERSHIP_SECRET_KEY"] = settings.secret_key
    os.environ["MEMBERSHIP_PG_POOL_SIZE"] = str(args.pool)
    try:
        total = max(args.members, args.identify_members)
        print(f"[{db}] loading {total:,} members")
        data = asyncio.run(prepare(settings, total, args.programs))
        server, base = start_server(settings, folder, workers=args.workers)
        try:
            profiler = _start_profiler(server, db) if args.profile else None
            marks: list[tuple[float, float, float]] = []
            earn_tps, earn_ms, earn_status = asyncio.run(
                drive(
                    base,
                    args.clients,
                    args.seconds,
                    earn_request(data, args.members),
                    lambda: marks.append(_cpu(server, cluster)),
                )
            )
            cpu_per_tx = [(b - a) * 1e6 / max(1, len(earn_ms)) for a, b in zip(*marks, strict=True)]
            if profiler is not None:
                _stop_profiler(profiler, db)
            half_rate = max(1.0, earn_tps * args.half_load)
            _, half_ms, half_status = asyncio.run(
                open_loop(base, half_rate, args.seconds, earn_request(data, args.members))
            )
            id_tps, id_ms, id_status = asyncio.run(
                drive(base, args.identify_clients, args.seconds, identify_request(data))
            )
            id_half_rate = max(1.0, id_tps * args.half_load)
            _, id_half_ms, id_half_status = asyncio.run(
                open_loop(base, id_half_rate, args.seconds, identify_request(data))
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        if db == "citus":  # the purchases through the API, before the floor adds its own
            asyncio.run(_placement(settings, data))
        floor_marks: list[tuple[float, float, float]] = []

        def floor_mark() -> None:
            floor_marks.append(_cpu(None, cluster))

        if db == "sqlite":
            floor = sqlite_floor(settings, data, args.members, args.seconds, floor_mark)
        else:
            floor = asyncio.run(postgres_floor(settings, data, args.members, args.seconds, args.clients, floor_mark))
        floor_cpu = [(b - a) * 1e6 / max(1.0, floor * args.seconds) for a, b in zip(*floor_marks, strict=True)]
    finally:
        if cluster is not None:
            cluster.stop()
    p = {q: percentile(earn_ms, q) for q in (50, 95, 99)}
    hp = {q: percentile(half_ms, q) for q in (50, 99)}
    ip = {q: percentile(id_ms, q) for q in (50, 99)}
    ihp = {q: percentile(id_half_ms, q) for q in (50, 99)}
    ratio = earn_tps / floor if floor else 0.0
    print(
        f"[{db}] earn      {earn_tps:8.0f} tx/s  p50 {p[50]:.1f} ms  p95 {p[95]:.1f} ms  p99 {p[99]:.1f} ms"
        f"  ({args.clients} clients, {args.workers} workers, statuses {dict(earn_status)})"
    )
    cores = os.cpu_count() or 1
    print(
        f"[{db}] CPU per purchase at saturation: app {cpu_per_tx[0]:.0f} µs, database server {cpu_per_tx[1]:.0f} µs,"
        f" load generator {cpu_per_tx[2]:.0f} µs; {sum(cpu_per_tx):.0f} µs in all, so {cores} cores"
        f" allow at most {cores * 1e6 / sum(cpu_per_tx):.0f} tx/s"
    )
    print(
        f"[{db}] half load {half_rate:8.0f} tx/s  p50 {hp[50]:.1f} ms  p99 {hp[99]:.1f} ms"
        f"  (open loop at {args.half_load:.0%} of the maximum, statuses {dict(half_status)})"
    )
    print(
        f"[{db}] floor     {floor:8.0f} tx/s  (sale, posting, entry pair, balance straight through the driver)"
        f"  ratio {ratio:.2f}"
    )
    print(
        f"[{db}] floor's CPU per purchase: database server {floor_cpu[1]:.0f} µs, client {floor_cpu[2]:.0f} µs"
        " (SQLite: all in the client)"
    )
    print(
        f"[{db}] identify  {id_tps:8.0f} req/s p50 {ip[50]:.1f} ms  p99 {ip[99]:.1f} ms"
        f"  ({total:,} members, {args.identify_clients} clients, statuses {dict(id_status)})"
    )
    print(
        f"[{db}] identify at half load {id_half_rate:8.0f} req/s  p50 {ihp[50]:.1f} ms  p99 {ihp[99]:.1f} ms"
        f"  (open loop at {args.half_load:.0%} of the maximum, statuses {dict(id_half_status)})"
    )
    result = (
        f"RESULT db={db} earn_tps={earn_tps:.0f} p99_ms={p[99]:.1f} p99_half_load_ms={hp[99]:.1f}"
        f" floor_tps={floor:.0f} ratio={ratio:.3f}"
        f" identify_p99_ms={ip[99]:.1f} identify_p99_half_load_ms={ihp[99]:.1f} cpu_us_per_tx={sum(cpu_per_tx):.0f}"
    )
    print(result, flush=True)
    return result


def _cpu(
    server: subprocess.Popen | None, cluster: ThrowawayCluster | ThrowawayCitus | None
) -> tuple[float, float, float]:
    """CPU seconds so far of the app server (its workers; 0 without one), the database server
    (every node's processes; SQLite runs inside its client) and this process (the load generator,
    or the floor's client)."""
    nodes = [] if cluster is None else cluster.nodes if isinstance(cluster, ThrowawayCitus) else [cluster]
    postmasters = [pid for node in nodes if (pid := postmaster_pid(node.root / "data")) is not None]
    app = tree_cpu_seconds(server.pid) if server is not None else 0.0
    return app, sum(map(tree_cpu_seconds, postmasters)), own_cpu_seconds()


def _start_profiler(server: subprocess.Popen, db: str) -> subprocess.Popen | None:
    target = _worker_pid(server)
    output = HERE / f"profile-{db}.txt"
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(target),
            "--format",
            "raw",
            "--output",
            str(output),
            "--rate",
            "200",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _worker_pid(server: subprocess.Popen) -> int:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    pids = children.read_text().split() if children.exists() else []
    return int(pids[0]) if pids else server.pid


def _stop_profiler(profiler: subprocess.Popen, db: str) -> None:
    import signal

    profiler.send_signal(signal.SIGINT)
    profiler.wait(timeout=30)
    output = HERE / f"profile-{db}.txt"
    if not output.exists():
        print("  (py-spy wrote no profile)")
        return
    own: Counter = Counter()
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for frame in set(f.split(" (")[0] + " " + f.split(" (")[-1].split(":")[0].rsplit("/", 2)[-1] for f in frames):
            own[frame] += int(count)
    print(f"  py-spy: {total} samples; frames on the most stacks (inclusive):")
    for frame, count in own.most_common(25):
        print(f"    {100 * count / total:5.1f}%  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres, citus (comma-separated)")
    parser.add_argument("--programs", type=int, default=1, help="programs the members are spread over")
    parser.add_argument("--quick", action="store_true", help="20k members, 5 s phases: under a minute")
    parser.add_argument("--members", type=int, default=100_000, help="members that earn")
    parser.add_argument("--identify-members", type=int, default=1_000_000, help="members loaded for identify")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for earn")
    parser.add_argument("--identify-clients", type=int, default=8, help="concurrent clients for identify")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase")
    parser.add_argument("--half-load", type=float, default=0.5, help="open-loop rate, a share of the maximum")
    parser.add_argument("--pool", type=int, default=20, help="PostgreSQL pool size per worker")
    parser.add_argument(
        "--socket", action="store_true", help="PostgreSQL over its Unix socket instead of TCP on 127.0.0.1"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the first worker during earn")
    args = parser.parse_args()
    if args.quick:
        args.members, args.identify_members, args.seconds = 20_000, 20_000, 5.0
    for db in args.db.split(","):
        if db.strip():
            run(db.strip(), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
