"""Kernel test fixtures: a migrated SQLite file per test, and a throwaway PostgreSQL 15 cluster.

The cluster is started once per session with the machine's ``initdb``/``pg_ctl`` (as the
``postgres`` user when running as root: initdb refuses root). Without binaries the PostgreSQL
tests skip loudly, unless ``MEMBERSHIP_TEST_POSTGRES=required`` (CI), where that is a failure.

With ``MEMBERSHIP_TEST_CITUS`` set (``1``, or ``required``: a missing Citus fails), the tests on
PostgreSQL also run on a throwaway Citus cluster (a coordinator and two workers, the schema
distributed by program: :mod:`membership.db.citus`), marked ``citus``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import importlib.metadata
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from membership.config import Settings, new_secret_key
from membership.db import close_database, open_database
from membership.db.migrate import migrate
from membership.db.throwaway import ThrowawayCitus, ThrowawayCluster, citus_available, free_port, pg_bindir

SECRET = new_secret_key()
CITUS = os.environ.get("MEMBERSHIP_TEST_CITUS", "")
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres)]
if CITUS:
    SERVERS.append(pytest.param("citus", marks=[pytest.mark.postgres, pytest.mark.citus]))


def _run_sync(coroutine) -> None:
    """Run set-up work on its own event loop in a thread (a test's loop may be running)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def pg_server():
    """DSN prefix of a throwaway PostgreSQL cluster (``postgresql://postgres@127.0.0.1:PORT``)."""
    bindir = pg_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found"
        if os.environ.get("MEMBERSHIP_TEST_POSTGRES") == "required":
            pytest.fail(f"{reason} and MEMBERSHIP_TEST_POSTGRES=required")
        pytest.skip(f"!!! {reason}: PostgreSQL tests skipped !!!")
    cluster = ThrowawayCluster(bindir, durable=False).start()
    try:
        yield cluster.dsn
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE … TEMPLATE)."""
    import asyncpg

    async def build() -> None:
        conn = await asyncpg.connect(f"{pg_server}/postgres")
        await conn.execute("CREATE DATABASE membership_template")
        await conn.close()
        settings = Settings(database_url=f"{pg_server}/membership_template", secret_key=SECRET, pg_pool_size=2)
        await open_database(settings)
        await migrate()
        await close_database()

    _run_sync(build())
    return "membership_template"


@pytest.fixture(scope="session")
def citus_server():
    """A throwaway Citus cluster: a coordinator and two workers (``../shared/vendor/citus``)."""
    bindir = pg_bindir()
    if bindir is None or not citus_available(bindir):
        reason = "the Citus extension is not installed (../shared/vendor/citus/install.sh)"
        if CITUS == "required":
            pytest.fail(f"{reason} and MEMBERSHIP_TEST_CITUS=required")
        pytest.skip(f"!!! {reason}: Citus tests skipped !!!")
    # four shards a table, not Citus's 32: each test copies the template on every node, and a
    # query over all shards opens a connection per shard; placement and routing are the same
    cluster = ThrowawayCitus(bindir, durable=False, settings={"citus.shard_count": "4"}).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def citus_template(citus_server) -> str:
    """A migrated (so distributed) Citus database that each test copies on every node."""

    async def build() -> None:
        await citus_server.create_database("membership_template")
        settings = Settings(database_url=citus_server.url("membership_template"), secret_key=SECRET, pg_pool_size=2)
        await open_database(settings)
        await migrate()
        await close_database()

    _run_sync(build())
    return "membership_template"


async def _open_citus(cluster: ThrowawayCitus, template: str) -> Settings:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await cluster.create_database(name, template)
    settings = Settings(database_url=cluster.url(name), secret_key=SECRET, pg_pool_size=20)
    await open_database(settings)
    return settings


async def open_server(request: pytest.FixtureRequest, kind: str) -> Settings:
    """A fresh migrated database for one test on ``kind``: ``postgres`` or ``citus``."""
    if kind == "citus":
        return await _open_citus(request.getfixturevalue("citus_server"), request.getfixturevalue("citus_template"))
    return await _open_postgres(request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "membership.db"

    async def build() -> None:
        await open_database(Settings(database_url=f"sqlite:///{path}", secret_key=SECRET))
        await migrate()
        await close_database()

    _run_sync(build())
    return path


async def _open_sqlite(tmp_path: Path, template: Path) -> Settings:
    path = tmp_path / "membership.db"
    shutil.copy(template, path)
    settings = Settings(database_url=f"sqlite:///{path}", secret_key=SECRET, base_dir=tmp_path)
    await open_database(settings)
    return settings


async def _open_postgres(server: str, template: str) -> Settings:
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(f"{server}/postgres")
    await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    await conn.close()
    settings = Settings(database_url=f"{server}/{name}", secret_key=SECRET, pg_pool_size=20)
    await open_database(settings)
    return settings


@pytest.fixture
async def db(tmp_path, sqlite_template):
    """A migrated SQLite database for one test."""
    settings = await _open_sqlite(tmp_path, sqlite_template)
    yield settings
    await close_database()


@pytest.fixture
async def plain_pg_db(pg_server, pg_template):
    """A migrated database on the plain PostgreSQL server (for tests that also use the server:
    backups, restores)."""
    settings = await _open_postgres(pg_server, pg_template)
    yield settings
    await close_database()


@pytest.fixture(params=SERVERS)
async def pg_db(request):
    """A migrated PostgreSQL database for one test of what only PostgreSQL does (and Citus)."""
    settings = await open_server(request, request.param)
    yield settings
    await close_database()


@pytest.fixture(params=["sqlite", *SERVERS])
async def any_db(request, tmp_path, sqlite_template):
    """The same test on SQLite and on PostgreSQL (and Citus)."""
    if request.param == "sqlite":
        settings = await _open_sqlite(tmp_path, sqlite_template)
    else:
        settings = await open_server(request, request.param)
    yield settings
    await close_database()


async def _api(settings: Settings):
    import httpx

    from membership.testing import app_for
    from tests.api_client import Api, make_keys
    from tests.helpers import make_shop

    shop = await make_shop()
    keys = await make_keys(shop)
    app = app_for(settings)
    transport = httpx.ASGITransport(app=app)  # runs the app in the test's own event loop
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, app, shop, keys)


@pytest.fixture
async def api(db):
    """The API over a SQLite shop (``api.shop``) with keys per scope (``api.keys``)."""
    async for value in _api(db):
        yield value


@pytest.fixture
async def any_api(any_db):
    """The API over a shop on SQLite and on PostgreSQL."""
    async for value in _api(any_db):
        yield value


async def _console(settings: Settings):
    from membership.testing import app_for
    from tests.console_client import Console, make_staff
    from tests.helpers import make_shop

    shop = await make_shop()
    await make_staff(shop)
    return Console(app_for(settings), shop)


@pytest.fixture
async def console(db):
    """The console over a SQLite shop, with one staff account per role (see tests/console_client.py)."""
    return await _console(db)


@pytest.fixture
async def any_console(any_db):
    """The console over a shop on SQLite and on PostgreSQL, with one staff account per role."""
    return await _console(any_db)


@dataclasses.dataclass
class ApiServer:
    url: str
    key: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, sqlite_template):
    """A real uvicorn server over a SQLite copy with a shop, a sale and a card, and an admin key
    bound to the shop's merchant."""
    folder = tmp_path_factory.mktemp("server")
    path = folder / "membership.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}", secret_key=SECRET, base_dir=folder)
    found: dict[str, Any] = {}

    async def prepare() -> None:
        from membership.access.service import create_api_key
        from membership.ledger.rules import LineInput
        from membership.members import service as members
        from membership.sales import service as sales
        from tests.helpers import make_shop

        await open_database(settings)
        shop = await make_shop()
        card = await members.issue_credential(shop.member_id, "card_uid", "04A1B2C37A21")
        sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 990)])
        key = await create_api_key("fuzz", ["admin"], merchant_id=shop.merchant_id, rate_limit=100_000)
        found.update(
            key=key.secret,
            ids={
                "member_id": str(shop.member_id),
                "sale_id": str(sale.id),
                "credential_id": str(card["id"]),
                "program_id": str(shop.program.id),
            },
        )
        await close_database()

    _run_sync(prepare())
    with _serving(folder, settings) as url:
        yield ApiServer(url, found["key"], found["ids"])


@contextlib.contextmanager
def _serving(folder: Path, settings: Settings) -> Iterator[str]:
    """A real uvicorn server over ``settings`` in a child process; its base URL."""
    port = free_port()
    env = {**os.environ, "MEMBERSHIP_DATABASE_URL": settings.database_url, "MEMBERSHIP_SECRET_KEY": SECRET}
    env.setdefault("MEMBERSHIP_SCHEDULER", "false")  # jobs run when a test says so (tests/test_jobs.py)
    # As in the tests' own process: no installed entry-point plugin (a pack installed beside the
    # kernel would find its tables missing from the kernel's database and answer 503).
    installed = ",".join(ep.name for ep in importlib.metadata.entry_points(group="membership"))
    env.setdefault("MEMBERSHIP_DISABLE_PLUGINS", installed)
    command = [sys.executable, "-m", "uvicorn", "membership.app:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/v1/health", server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclasses.dataclass
class ConsoleServer:
    url: str
    shop: Any


@pytest.fixture(scope="module")
def console_server(tmp_path_factory, sqlite_template):
    """A real server over a SQLite copy with a shop and one staff account per role."""
    from tests.console_client import make_staff
    from tests.helpers import make_shop

    folder = tmp_path_factory.mktemp("console")
    shutil.copy(sqlite_template, folder / "membership.db")
    settings = Settings(database_url=f"sqlite:///{folder / 'membership.db'}", secret_key=SECRET, base_dir=folder)
    found: dict[str, Any] = {}

    async def prepare() -> None:
        await open_database(settings)
        found["shop"] = await make_shop()
        await make_staff(found["shop"])
        await close_database()

    _run_sync(prepare())
    with _serving(folder, settings) as url:
        yield ConsoleServer(url, found["shop"])


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")
