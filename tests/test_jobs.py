"""Jobs: leases, one run per schedule slot, the scheduler inside the server, two workers on one
PostgreSQL running a job exactly once, and every built-in job changing nothing the second time."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from membership.db import execute, fetch, fetch_one
from membership.jobs import runner
from membership.jobs.scheduler import latest_slot, tick
from membership.ledger import service as ledger_service
from tests.helpers import ledger_violations, make_shop


def _no_progress(done: int, total: int) -> None:
    pass


async def _stored_points(member_id) -> int:
    """The points balance the ledger stores (the sum of its entries, expiry written or not)."""
    row = await fetch_one("SELECT balance FROM ledger_account WHERE member_id = {} AND kind = 'points'", member_id)
    return int(row["balance"])


async def test_a_job_held_by_another_worker_is_not_run_until_its_lease_expires(any_db):
    shop = await make_shop()
    await ledger_service.adjust_points(shop.member_id, 100, "赠送", "admin")
    await execute("UPDATE points_lot SET expires_at = {}", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    run_id, holder, _ = await runner._take("expire-points", "worker-a", None)
    assert run_id and holder is None
    held = await runner.run_job("expire-points", worker="worker-b")
    assert held.result is None and held.held_by == "worker-a"
    assert await _stored_points(shop.member_id) == 100  # nothing expired by b
    assert (await ledger_service.balances(shop.member_id)).points == 0  # past its expiry: not spendable
    await execute("UPDATE job_lease SET leased_until = {}", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    taken = await runner.run_job("expire-points", worker="worker-b")
    assert taken.result.processed == 1 and await _stored_points(shop.member_id) == 0
    lease = await fetch_one("SELECT holder, leased_until FROM job_lease WHERE name = 'expire-points'")
    assert lease == {"holder": None, "leased_until": None}
    assert await ledger_violations() == []


async def test_each_schedule_slot_runs_once_and_every_job_changes_nothing_the_second_time(any_db):
    shop = await make_shop()
    await ledger_service.adjust_points(shop.member_id, 100, "赠送", "admin")
    await execute("UPDATE points_lot SET expires_at = {}", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    now = dt.datetime.now(dt.UTC)
    first = {o.name: o for o in await tick("Asia/Shanghai", now)}
    assert first["expire-points"].result.processed == 1
    assert all(o.result is not None for o in first.values())
    again = await tick("Asia/Shanghai", now)
    assert again and all(o.already_done and o.result is None for o in again)
    for name in first:  # by hand, a second time: nothing left to do
        assert (await runner.run_job(name)).result.processed == 0, name
    runs = await fetch("SELECT name, slot, finished_at, error FROM job_run WHERE slot IS NOT NULL")
    assert len(runs) == len(first) and all(r["finished_at"] and not r["error"] for r in runs)
    assert {r["slot"] for r in runs if r["name"] == "expire-points"} == {
        latest_slot("10 2 * * *", "Asia/Shanghai", now)
    }
    assert await ledger_violations() == []


async def test_a_failing_job_is_recorded_and_its_lease_released(db, register_plugin):
    from membership import hookimpl
    from membership.jobs.interface import Job

    class Broken(Job):
        name = "broken-job"

        async def run(self, now, progress):
            raise RuntimeError("printer on fire")

    class Plugin:
        @hookimpl
        def membership_register_jobs(self):
            return [Broken]

    register_plugin(Plugin(), name="broken-job")
    with pytest.raises(RuntimeError):
        await runner.run_job("broken-job")
    run = await fetch_one("SELECT error, finished_at FROM job_run WHERE name = 'broken-job'")
    assert run["error"] == "RuntimeError: printer on fire" and run["finished_at"] is not None
    assert (await fetch_one("SELECT holder FROM job_lease WHERE name = 'broken-job'"))["holder"] is None


def test_latest_slot_is_in_the_configured_zone():
    three_am_shanghai = dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC)
    assert latest_slot("0 3 * * *", "Asia/Shanghai", three_am_shanghai) == three_am_shanghai
    assert latest_slot("0 3 * * *", "Asia/Shanghai", three_am_shanghai - dt.timedelta(seconds=1)) == (
        three_am_shanghai - dt.timedelta(days=1)
    )


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_run_a_scheduled_job_exactly_once(pg_server, pg_template, tmp_path):
    import asyncio

    import asyncpg

    name = f"t_{tmp_path.name[-12:].replace('-', '_')}"

    async def create() -> None:
        conn = await asyncpg.connect(f"{pg_server}/postgres")
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
        await conn.close()

    asyncio.run(create())
    url, go = f"{pg_server}/{name}", tmp_path / "go"
    now = dt.datetime.now(dt.UTC).isoformat()
    worker = [sys.executable, str(Path(__file__).parent / "job_worker.py"), url, now, str(go)]
    workers = [subprocess.Popen(worker, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(1.5)  # both have imported and opened their pools
    go.touch()
    said = [json.loads(w.communicate(timeout=60)[0])["slow-job"] for w in workers]
    assert sorted(said) in (["held", "ran"], ["done", "ran"]), said

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(url)
        body = await conn.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'test.slow_job'")
        runs = await conn.fetchval("SELECT COUNT(*) FROM job_run WHERE name = 'slow-job'")
        await conn.close()
        return body, runs

    assert asyncio.run(count()) == (1, 1)


def test_the_scheduler_runs_due_jobs_inside_the_server(tmp_path, sqlite_template, monkeypatch):
    import shutil
    import sqlite3

    from membership.config import Settings
    from tests.conftest import SECRET, _serving

    shutil.copy(sqlite_template, tmp_path / "membership.db")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'membership.db'}", secret_key=SECRET, base_dir=tmp_path)
    monkeypatch.setenv("MEMBERSHIP_SCHEDULER", "true")
    with _serving(tmp_path, settings) as url:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "membership.db") as conn:
                done = {row[0] for row in conn.execute("SELECT name FROM job_run WHERE finished_at IS NOT NULL")}
            if {"expire-points", "purge-idempotency-keys", "prune-reader-reads"} <= done:
                break
            time.sleep(0.2)
        assert httpx.get(f"{url}/api/v1/health").status_code == 200
    assert {"expire-points", "purge-idempotency-keys", "prune-reader-reads"} <= done


async def test_chunks_grow_while_nobody_waits_and_shrink_while_tills_write(any_db, monkeypatch):
    """A job's pace: a chosen chunk size stays; otherwise chunks double while no till wants the
    database, halve (resting on PostgreSQL) while one does, and grow again only after a quiet
    spell."""
    import asyncio

    from membership.db import current_engine, is_sqlite, use_case
    from membership.jobs import interface
    from membership.jobs.interface import MAX_CHUNK, Pace

    fixed = Pace(250)
    await fixed.rest()
    assert fixed.size == 250
    pace = Pace()
    first = pace.size
    await pace.rest()
    assert pace.size == 2 * first
    for _ in range(10):
        await pace.rest()
    assert pace.size == MAX_CHUNK

    release = asyncio.Event()

    @use_case
    async def till() -> None:  # a till's transaction in flight
        if is_sqlite():
            await release.wait()  # holds the write lock: the next till queues for it
        else:
            await execute("SELECT pg_sleep(0.5)")

    holding = [asyncio.create_task(till()), asyncio.create_task(till())]
    await asyncio.sleep(0.1)
    if is_sqlite():
        assert current_engine().contended()
    started = time.perf_counter()
    await pace.rest()
    assert pace.size == MAX_CHUNK // 2
    if not is_sqlite():  # rested about as long as the "chunk" took (the 0.1 s above)
        assert time.perf_counter() - started >= 0.1
    release.set()
    await asyncio.gather(*holding)
    monkeypatch.setattr(interface, "QUIET_S", 60.0)
    await pace.rest()
    assert pace.size == MAX_CHUNK // 2  # a till was seen a moment ago
    monkeypatch.setattr(interface, "QUIET_S", 0.0)
    await pace.rest()
    assert pace.size == MAX_CHUNK  # nobody waits any more
