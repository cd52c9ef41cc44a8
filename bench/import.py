"""Import benchmark: 1,000,000 members from a CSV file into SQLite and PostgreSQL, with their
personal data sealed as enrolment seals it (a data key per member, phone and card sealed under
it, keyed hashes beside them) and opening balances booked in the ledger.

    python bench/import.py --quick                 # 100k members, both databases
    python bench/import.py --db sqlite             # 1M members (--db sqlite|postgres|both)
    python bench/import.py --db postgres --rows 300000 --chunk-size 5000 --profile

Per database it migrates, creates a merchant, a store and a program (points valid 365 days, three
tiers), writes the CSV (a row at a time, before the clock starts), then times
``membership.transfer.importing.import_members`` over it: the same code as ``membership import
members``. The file holds Chinese names, mainland mobile numbers, genders, birthdays (a tenth
lunar, marked in a 历法 column), tags, a card number each, opening points (seven rows in ten),
stored value in yuan with two decimals (three in ten), growth and tiers (one in twenty names its
tier); 0.2% of the rows repeat an earlier phone and 0.2% have a bad phone, so the duplicate and
error paths run too. ``--check`` (always on with ``--quick``) verifies the ledger invariants and
the counts afterwards, and the import is run a second time (it must add nothing).

PostgreSQL runs on a throwaway cluster with fsync on. Peak memory is this process's peak
resident set (the import; the CSV is written a row at a time); the reading processes' (forked
from it, sharing most of its pages) is printed beside it, with the CPU time per row of this
process, of the readers and of the PostgreSQL server, and the load average the run began at (the
machine is shared). It prints figures and never asserts them; the last line per database is::

    RESULT db=sqlite rows=1000000 rows_per_s=… peak_rss_mb=…
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu import own_cpu_seconds, postmaster_pid, tree_cpu_seconds  # bench/ is on the path

from membership.config import Settings, new_secret_key
from membership.db import close_database, open_database
from membership.db.migrate import migrate
from membership.db.throwaway import ThrowawayCluster, pg_bindir

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红飞鑫波斌宇浩凯健俊"
    "帆帅旭宁龙林欣佳琳雪梅晨曦思雨子涵梓轩"
)
PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187", "188")
PREFIXES += ("130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "189", "181", "177", "176", "199")
TAGS = ("VIP", "咖啡", "烘焙", "亲子", "夜宵", "早餐", "茶饮", "会员日")
TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 1_000},
    {"code": "gold", "name": "金卡", "threshold": 5_000},
    {"code": "platinum", "name": "白金卡", "threshold": 20_000},
]
HEADERS = ["姓名", "手机号", "性别", "生日", "历法", "标签", "卡号", "积分", "储值余额", "成长值", "会员等级"]
POSTGRES_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def phone_of(i: int) -> str:
    """A distinct mainland mobile number for row ``i``."""
    return PREFIXES[i % len(PREFIXES)] + f"{(i // len(PREFIXES)) * 97 + 13:08d}"


def write_csv(path: Path, rows: int, seed: int = 20261205) -> dict[str, int]:
    """The member file, a row at a time; what it holds (good rows, repeats, bad phones)."""
    rng = random.Random(seed)
    counts = {"good": 0, "repeats": 0, "bad": 0}
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADERS)
        for i in range(rows):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            kind = rng.random()
            if kind < 0.002 and i > 10:
                phone, card = phone_of(rng.randrange(i)), ""  # repeats an earlier row's phone
                counts["repeats"] += 1
            elif kind < 0.004:
                phone, card = "1" + f"{i:06d}", ""  # too short: a bad phone
                counts["bad"] += 1
            else:
                phone, card = phone_of(i), f"{0x10000000 + i:08X}"
                counts["good"] += 1
            lunar = rng.random() < 0.1
            birthday = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            points = str(rng.randint(1, 5000)) if rng.random() < 0.7 else ""
            stored = f"{rng.randint(1, 200000) / 100:.2f}" if rng.random() < 0.3 else ""
            growth = rng.randint(0, 30000)
            tier = rng.choice(TIERS)["name"] if rng.random() < 0.05 else ""
            tags = "、".join(rng.sample(TAGS, rng.randint(0, 2)))
            gender = rng.choice(("男", "女", ""))
            row = [name, phone, gender, birthday, "农历" if lunar else "", tags, card, points, stored, growth, tier]
            out.writerow(row)
    return counts


async def prepare(settings: Settings) -> tuple:
    """Migrate; a merchant, a store and a program with tiers (through the services)."""
    from membership.org import service as org
    from membership.tiers.service import configure

    await open_database(settings)
    try:
        await migrate()
        merchant = await org.create_merchant("压测连锁")
        store = await org.create_store(merchant, "B01", "压测店")
        program = await org.create_program(merchant, "压测会员", points_expiry_days=365)
        await configure(program.id, TIERS, None, actor="bench")
    finally:
        await close_database()
    return program.id, store


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user and system) of this process and of its ended children (the reading processes)."""
    return own_cpu_seconds(), own_cpu_seconds(resource.RUSAGE_CHILDREN)


def server_cpu_seconds(cluster: ThrowawayCluster | None) -> float:
    """CPU time of the PostgreSQL server: the postmaster, its live processes and the ended ones it
    reaped (0 without a cluster or on a system without ``/proc``)."""
    postmaster = postmaster_pid(cluster.root / "data") if cluster is not None else None
    return tree_cpu_seconds(postmaster) if postmaster is not None else 0.0


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """This process's peak resident set so far (``RUSAGE_CHILDREN``: its largest ended child's),
    in MB (Linux reports kilobytes)."""
    return resource.getrusage(who).ru_maxrss / 1024


async def run_import(settings: Settings, path: Path, program_id, store_id, args: argparse.Namespace):
    from membership.transfer.importing import import_members

    await open_database(settings)
    try:
        last = [time.perf_counter()]

        def progress(done: int, total: int | None) -> None:
            now = time.perf_counter()
            if now - last[0] >= 10:
                last[0] = now
                print(f"    {done:,}/{total or 0:,} rows, peak RSS {peak_rss_mb():.0f} MB", flush=True)

        kwargs = {"chunk_size": args.chunk_size} if args.chunk_size else {}
        if args.readers is not None:
            kwargs["readers_count"] = args.readers
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        summary = await import_members(
            path,
            program_id,
            store_id=store_id,
            actor="bench",
            progress=progress,
            errors_to=path.with_suffix(".err.csv"),
            **kwargs,
        )
        if args.profile:
            profiler.stop()
            engine = "sqlite" if settings.is_sqlite else "postgres"
            profile = path.parent.parent / f"import-profile-{engine}.txt"
            Path(profile.name).write_text(profiler.output_text(unicode=True, show_all=False))  # noqa: ASYNC240
            print(f"  profile written to {profile.name}")
        return summary
    finally:
        await close_database()


async def check(settings: Settings, expected: int) -> str:
    from membership.backup.verify import ledger_violations
    from membership.db import fetch_one

    await open_database(settings)
    try:
        problems = await ledger_violations()
        members = (await fetch_one("SELECT COUNT(*) AS n FROM member"))["n"]
        cards = (await fetch_one("SELECT COUNT(*) AS n FROM credential"))["n"]
    finally:
        await close_database()
    verdict = "hold" if not problems else f"BROKEN: {problems[:3]}"
    count = "as expected" if members == expected else f"EXPECTED {expected:,}"
    return f"ledger invariants {verdict}; {members:,} members ({count}), {cards:,} cards"


def bench(
    db: str, settings: Settings, folder: Path, args: argparse.Namespace, cluster: ThrowawayCluster | None
) -> None:
    program_id, store_id = asyncio.run(prepare(settings))
    path = folder / "members.csv"
    started = time.perf_counter()
    counts = write_csv(path, args.rows)
    size = path.stat().st_size / 1e6
    print(f"  wrote {args.rows:,} rows ({size:.0f} MB) in {time.perf_counter() - started:.1f} s: {counts}", flush=True)
    load = os.getloadavg()[0]
    before = (*cpu_seconds(), server_cpu_seconds(cluster))
    summary = asyncio.run(run_import(settings, path, program_id, store_id, args))
    rate = summary.rows / summary.seconds
    peak = peak_rss_mb()
    used = [
        after - earlier for after, earlier in zip((*cpu_seconds(), server_cpu_seconds(cluster)), before, strict=True)
    ]
    print(
        f"  imported {summary.imported:,} of {summary.rows:,} rows in {summary.seconds:.1f} s ({rate:,.0f} rows/s);"
        f" {summary.duplicates:,} duplicates, {summary.errors:,} errors; {summary.cards:,} cards,"
        f" {summary.points:,} points, ¥{summary.stored_value / 100:,.2f} stored value",
        flush=True,
    )
    print(
        f"  CPU per row: {used[0] * 1e6 / summary.rows:.0f} µs this process, {used[1] * 1e6 / summary.rows:.0f} µs"
        f" reading processes{f', {used[2] * 1e6 / summary.rows:.0f} µs PostgreSQL' if cluster else ''};"
        f" load average before: {load:.1f}; a reader's peak RSS {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB",
        flush=True,
    )
    if args.check:
        print(f"  {asyncio.run(check(settings, summary.imported))}", flush=True)
        again = asyncio.run(run_import(settings, path, program_id, store_id, args))
        print(
            f"  again: {again.imported:,} imported, {again.already_imported:,} already imported"
            f" ({again.rows / again.seconds:,.0f} rows/s)",
            flush=True,
        )
    print(f"RESULT db={db} rows={summary.rows} rows_per_s={rate:.0f} peak_rss_mb={peak:.0f}", flush=True)


def run_one(db: str, args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-import-{db}-"))
    cluster = None
    try:
        if db == "sqlite":
            settings = Settings(database_url=f"sqlite:///{folder}/m.db", secret_key=new_secret_key(), base_dir=folder)
        else:
            bindir = pg_bindir()
            if bindir is None:
                print("!!! PostgreSQL binaries (initdb, pg_ctl) not found: set MEMBERSHIP_PG_BINDIR or install them")
                return 2
            cluster = ThrowawayCluster(bindir, settings=POSTGRES_SETTINGS)  # fsync on: commits are real
            cluster.start()
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "bench"],
                check=True,
            )
            settings = Settings(database_url=f"{cluster.dsn}/bench", secret_key=new_secret_key(), base_dir=folder)
        bench(db, settings, folder, args, cluster)
        return 0
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100k rows, the checks, and a second run")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--chunk-size", type=int, help="rows per transaction (default: the importer's)")
    parser.add_argument("--readers", type=int, help="reading processes (default: the importer's; 0: a thread)")
    parser.add_argument("--check", action="store_true", help="verify the ledger and run the import again")
    parser.add_argument("--profile", action="store_true", help="profile the import (pyinstrument)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.check = min(args.rows, 100_000), True
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    status = 0
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        print(f"\n### {db}", flush=True)
        status = max(status, run_one(db, args))
    return status


if __name__ == "__main__":
    sys.exit(main())
