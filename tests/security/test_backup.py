"""Backups (issue 17): a backup taken while tills keep buying holds every purchase acknowledged
before it started and passes verify; a tampered or damaged backup fails verify; a restore
refuses to replace data unless forced, and a database in use; the CLI says so in one line."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from membership.backup import BackupInvalid, RestoreRefused, backup, check_restore, restore, verify_backup
from membership.backup import sqlite as sqlite_backup
from membership.config import Settings, new_secret_key
from membership.db import close_database, execute, fetch, open_database
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from tests.conftest import SECRET
from tests.helpers import ledger_violations, make_shop


class Tills:
    """Purchases at several tills, one after another on each, until stopped; the sale id of each
    acknowledged purchase, in order."""

    def __init__(self, shop, member_ids: list[uuid.UUID]) -> None:
        self.shop, self.member_ids = shop, member_ids
        self.acknowledged: list[str] = []
        self.stop = asyncio.Event()
        self.wanted, self.reached = 0, asyncio.Event()
        self.tasks = [asyncio.create_task(self._till(n, member)) for n, member in enumerate(member_ids)]

    async def _till(self, till: int, member_id: uuid.UUID) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            lines = [LineInput(f"sku-{till}", 1, 1_000 + n)]
            sale = await sales.record_purchase(
                self.shop.program.id, self.shop.store_id, member_id, lines, idempotency_key=f"till-{till}-{n}"
            )
            self.acknowledged.append(str(sale.id))
            if len(self.acknowledged) >= self.wanted:
                self.reached.set()

    async def until(self, count: int) -> None:
        self.wanted = count
        self.reached.clear()
        if len(self.acknowledged) < count:
            await self.reached.wait()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)


async def _open_tills(tills: int = 4) -> Tills:
    shop = await make_shop()
    member_ids = [shop.member_id]
    for n in range(1, tills):
        member = await members.enrol(shop.program.id, {"name": f"会员{n}", "phone": f"1391234{n:04d}"}, shop.store_id)
        member_ids.append(member.id)
    return Tills(shop, member_ids)


async def _backup_under_load(settings: Settings, path: Path, step_delay: float = 0.0) -> tuple[set[str], object]:
    """A backup taken while four tills buy: (the sales acknowledged before it started, its result);
    asserts the tills kept committing while it ran."""
    tills = await _open_tills()
    try:
        await tills.until(20)
        before = set(tills.acknowledged)

        def slowly(copied: int, total: int | None) -> None:  # in the copy's thread: the tills run meanwhile
            time.sleep(step_delay)

        done = await backup(settings, path, progress=slowly)
        assert len(tills.acknowledged) > len(before), "no purchase was acknowledged while the backup ran"
    finally:
        await tills.close()
    return before, done


async def _sale_ids() -> set[str]:
    return {str(row["id"]) for row in await fetch("SELECT id FROM sale")}


def _sqlite_settings(folder: Path, secret: str = SECRET) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(database_url=f"sqlite:///{folder / 'membership.db'}", secret_key=secret, base_dir=folder)


# --- SQLite ---------------------------------------------------------------------------------------


async def test_a_sqlite_backup_under_load_holds_every_acknowledged_purchase_and_restores(db, tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_backup, "STEP_PAGES", 8)  # many small steps, the tills commit between them
    before, done = await _backup_under_load(db, tmp_path / "backup.db", step_delay=0.002)
    assert done.path.is_file() and done.size == done.path.stat().st_size
    assert oct(done.path.stat().st_mode & 0o777) == "0o600"  # the members' data: its owner's alone
    assert done.verified.members == 4 and done.verified.key_checked
    assert not os.path.exists(f"{done.path}.partial")  # noqa: ASYNC240
    with sqlite3.connect(done.path) as copy:  # one self-contained file
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    restored = _sqlite_settings(tmp_path / "restored")
    verified = await restore(restored, done.path)
    assert verified.file == str(restored.sqlite_path) and verified.sales >= len(before)
    await close_database()
    await open_database(restored)
    assert await ledger_violations() == []
    assert before <= await _sale_ids()


async def test_a_backup_with_a_changed_entry_fails_verify_and_is_not_restored(db, tmp_path):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 9_900)])
    done = await backup(db, tmp_path / "backup.db")
    with sqlite3.connect(done.path) as copy:
        copy.execute(
            "UPDATE ledger_entry SET amount = amount + 100 WHERE rowid = (SELECT MIN(rowid) FROM ledger_entry)"
        )

    with pytest.raises(BackupInvalid) as failed:
        await verify_backup(db, done.path)
    assert failed.value.code == "backup_invalid"
    assert "ledger" in failed.value.detail("en") and "sums to" in failed.value.detail("en")
    assert "账本不平" in failed.value.detail("zh")

    target = _sqlite_settings(tmp_path / "restored")
    with pytest.raises(BackupInvalid):
        await restore(target, done.path)
    assert not target.sqlite_path.exists()  # nothing was put in place
    assert list(target.sqlite_path.parent.iterdir()) == []


async def test_a_damaged_or_foreign_file_fails_verify_in_one_clear_error(db, tmp_path):
    await make_shop()
    done = await backup(db, tmp_path / "backup.db")
    data = bytearray(done.path.read_bytes())
    page = 4096
    data[3 * page : 3 * page + 200] = os.urandom(200)  # a b-tree page overwritten
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    text = tmp_path / "notes.txt"
    text.write_text("not a backup")
    for path in (damaged, truncated, text, tmp_path / "missing.db"):
        with pytest.raises(BackupInvalid) as failed:
            await verify_backup(db, path)
        assert str(path) in failed.value.detail("en")


async def test_a_backup_made_with_another_secret_key_fails_verify(db, tmp_path):
    await make_shop()  # a member with a phone number, encrypted
    done = await backup(db, tmp_path / "backup.db")
    elsewhere = Settings(database_url=db.database_url, secret_key=new_secret_key(), base_dir=db.base_dir)
    with pytest.raises(BackupInvalid) as failed:
        await verify_backup(elsewhere, done.path)
    assert "secret key" in failed.value.detail("en") and "密钥" in failed.value.detail("zh")
    without_key = Settings(database_url=db.database_url, base_dir=db.base_dir)
    assert not (await verify_backup(without_key, done.path)).key_checked  # checked as far as it can be


async def test_a_sqlite_restore_refuses_data_and_a_database_in_use(db, tmp_path):
    await make_shop()
    done = await backup(db, tmp_path / "backup.db")
    target = _sqlite_settings(tmp_path / "target")
    await restore(target, done.path)  # into nothing: no --force needed
    with pytest.raises(RestoreRefused) as refused:
        await restore(target, done.path)
    assert refused.value.code == "restore_refused" and "--force" in refused.value.detail("en")
    assert (await restore(target, done.path, force=True)).members == 1

    with pytest.raises(RestoreRefused) as in_use:  # the test's own engine has the database open
        await check_restore(db, done.path, force=True)
    assert "another process" in in_use.value.detail("en") and "请先停止" in in_use.value.detail("zh")


async def test_an_existing_file_is_never_overwritten_by_a_backup(db, tmp_path):
    from membership.errors import ValidationError

    existing = tmp_path / "backup.db"
    existing.write_text("keep me")
    with pytest.raises(ValidationError):
        await backup(db, existing)
    assert existing.read_text() == "keep me"


# --- PostgreSQL -----------------------------------------------------------------------------------


async def _empty_database(server: str) -> str:
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(f"{server}/postgres")
    await connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    await connection.close()
    return f"{server}/{name}"


async def _scratch_databases(server: str) -> list[str]:
    import asyncpg

    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        rows = await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'membership_verify_%'")
    finally:
        await connection.close()
    return [row["datname"] for row in rows]


@pytest.mark.postgres
async def test_a_postgres_backup_under_load_holds_every_acknowledged_purchase_and_restores(
    plain_pg_db, pg_server, tmp_path
):
    before, done = await _backup_under_load(plain_pg_db, tmp_path / "backup.dump")
    assert done.path.read_bytes()[:5] == b"PGDMP" and done.verified.members == 4
    assert oct(done.path.stat().st_mode & 0o777) == "0o600"
    assert await _scratch_databases(pg_server) == []  # the verify's scratch database is gone

    restored = Settings(database_url=await _empty_database(pg_server), secret_key=SECRET, pg_pool_size=2)
    verified = await restore(restored, done.path)
    assert verified.sales >= len(before)
    await close_database()
    await open_database(restored)
    assert await ledger_violations() == []
    assert before <= await _sale_ids()

    with pytest.raises(RestoreRefused):
        await restore(restored, done.path)
    await execute("DELETE FROM sale_line")  # a change the forced restore takes back
    assert (await restore(restored, done.path, force=True)).sales == verified.sales


@pytest.mark.postgres
async def test_a_postgres_backup_of_a_changed_entry_or_a_damaged_dump_fails_verify(plain_pg_db, pg_server, tmp_path):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 9_900)])
    sound = await backup(plain_pg_db, tmp_path / "sound.dump")
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(sound.path.read_bytes()[: sound.size // 2])
    with pytest.raises(BackupInvalid) as damaged:
        await verify_backup(plain_pg_db, truncated)
    assert "pg_restore" in damaged.value.detail("en")

    await execute("UPDATE ledger_entry SET amount = amount + 100 WHERE id = (SELECT id FROM ledger_entry LIMIT 1)")
    with pytest.raises(BackupInvalid) as tampered:
        await backup(plain_pg_db, tmp_path / "tampered.dump")
    assert "ledger" in tampered.value.detail("en")
    assert (tmp_path / "tampered.dump").exists()  # kept: a faithful copy of what the database holds
    assert await _scratch_databases(pg_server) == []


# --- the command line -----------------------------------------------------------------------------


def run(folder: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env={**clean, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def refused(result: subprocess.CompletedProcess, code: str, copied: bool = False) -> None:
    """One clear line on stderr, a non-zero exit, no traceback, and no progress bar drawn first
    (unless the refusal came after a copy: a restored copy that failed its check)."""
    assert result.returncode == 1, result.stderr
    assert code in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and ("━" in result.stdout) == copied


@pytest.fixture(scope="module")
def shop_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    run(folder, "init")
    run(folder, "demo", "--members", "20", "--purchases", "60")
    return folder


def test_cli_backup_verify_and_restore_of_a_sqlite_shop(shop_folder):
    made = run(shop_folder, "backup").stdout
    (path,) = shop_folder.glob("membership-*.db")
    assert path.name[len("membership-") :].removesuffix(".db").replace("-", "").isdigit()
    assert "verified" in made and "20 members" in made
    assert re.fullmatch(rf"备份 backup: {re.escape(str(path))} \(\d[\d.]* [kMG]B, \d+\.\d s\)", made.splitlines()[-1])

    assert "ledger balanced" in run(shop_folder, "restore", "--verify-only", path.name).stdout
    refused(run(shop_folder, "restore", path.name, ok=False), "restore_refused")
    restored = run(shop_folder, "restore", "--force", path.name).stdout
    assert "restored" in restored and "20 members" in restored

    tampered = shop_folder / "tampered.db"
    tampered.write_bytes(path.read_bytes())
    with sqlite3.connect(tampered) as copy:
        copy.execute("UPDATE ledger_account SET balance = balance + 1 WHERE kind = 'points'")
    refused(run(shop_folder, "restore", "--verify-only", "tampered.db", ok=False), "backup_invalid")
    refused(run(shop_folder, "restore", "--force", "tampered.db", ok=False), "backup_invalid", copied=True)
    assert "ledger balanced" in run(shop_folder, "restore", "--verify-only", "membership.db").stdout  # untouched
    refused(run(shop_folder, "backup", path.name, ok=False), "validation_error")  # never overwrites


def test_cli_backup_and_restore_outside_a_deployment_say_so_and_write_nothing(tmp_path):
    refused(run(tmp_path, "backup", ok=False), "not_configured")
    refused(run(tmp_path, "restore", "x.db", ok=False), "not_configured")
    assert list(tmp_path.iterdir()) == []
    assert "--verify-only" in run(tmp_path, "restore", "--help").stdout


@pytest.mark.postgres
def test_cli_backup_verify_and_restore_of_a_postgres_chain(pg_server, tmp_path):
    url = asyncio.run(_empty_database(pg_server))
    env = {"MEMBERSHIP_DATABASE_URL": url, "MEMBERSHIP_SECRET_KEY": new_secret_key()}
    run(tmp_path, "demo", "--members", "10", "--purchases", "30", env=env)
    made = run(tmp_path, "backup", "chain.dump", env=env).stdout
    assert "10 members" in made and made.strip().splitlines()[-1].startswith(f"备份 backup: {tmp_path / 'chain.dump'}")
    assert "ledger balanced" in run(tmp_path, "restore", "--verify-only", "chain.dump", env=env).stdout
    refused(run(tmp_path, "restore", "chain.dump", env=env, ok=False), "restore_refused")
    assert "10 members" in run(tmp_path, "restore", "--force", "chain.dump", env=env).stdout
    sqlite_env = {"MEMBERSHIP_SECRET_KEY": env["MEMBERSHIP_SECRET_KEY"]}  # the default, SQLite
    refused(run(tmp_path, "restore", "--verify-only", "chain.dump", env=sqlite_env, ok=False), "not_configured")
