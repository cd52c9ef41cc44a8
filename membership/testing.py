"""The test kit for plugin authors: pytest fixtures (registered through the ``pytest11`` entry
point, so a plugin's tests need no conftest), factories, a movable clock and an API client.

Fixtures:

* ``membership_settings`` — settings on a fresh SQLite file in a temporary folder;
* ``membership_db`` — that database opened and migrated (kernel and registered plugins);
* ``register_plugin`` — register a plugin object for one test; it is unregistered afterwards;
* ``load_plugins`` — ``await load_plugins("brand-day")`` loads installed plugins through their
  ``membership`` entry points, as a deployment does (entry points are not loaded under test
  otherwise), and migrates their tables;
* ``shop`` — :func:`make_shop`: a merchant, a program, a store and a member, in ``membership_db``;
* ``clock`` — a :class:`Clock` at the present time, moved by the test;
* ``api_client`` — ``await api_client("pos", merchant_id=…)``: an ``httpx.AsyncClient`` on
  ``/api/v1`` of the real app over the test's database, with a fresh API key of that scope;
* ``chromium`` — a headless Debian Chromium driven by Playwright, for console tests (sync tests).

:func:`app_for` gives the application over a database a test has opened (built once per secret key
and set of registered plugins: building one registers some 400 routes and takes half a second).

Factories (each one use case of the kernel, as a till or the console would call it):
:func:`make_merchant`, :func:`make_program` (with settings, and plugins enabled with theirs),
:func:`make_store`, :func:`make_member`, :func:`make_card`, :func:`make_sale`,
:func:`make_shop`, :func:`enable_plugin`; :func:`deliver_events` delivers the outbox's events now
(listeners run after the commit).

A real server: :func:`serve_demo` runs ``membership serve --demo --industry NAME`` from an empty
folder in a child process, for a pack's demo test and its browser tests.

Example::

    from membership.testing import make_member, make_program, make_sale

    async def test_brand_day(shop, load_plugins):
        await load_plugins("brand-day")
        program = await make_program(shop.merchant_id, plugins={"brand-day": {"skus": ["6901"]}})
        member = await make_member(program.id)
        sale = await make_sale(program.id, shop.store_id, member, sku="6901")
        assert sale.points_earned == 99 + 5
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from membership.config import Settings, new_secret_key

if TYPE_CHECKING:
    import httpx

    from membership.jobs.runner import RunOutcome
    from membership.ledger.rules import LineInput
    from membership.org.service import ProgramConfig
    from membership.sales.service import PurchaseResult, RefundResult


async def deliver_events() -> Any:
    """Deliver the events waiting in the outbox now (after the background deliveries this process
    started), so a test can assert what its listener received."""
    from membership.outbox.service import deliver_all, wait_for_background

    await wait_for_background()
    return await deliver_all()


def pytest_configure(config: pytest.Config) -> None:
    """Entry points are not loaded under test: tests register the plugins they need."""
    sys._called_from_test = True  # type: ignore[attr-defined]


@pytest.fixture
def membership_settings(tmp_path) -> Settings:
    """Settings on a new SQLite file in ``tmp_path``."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'membership.db'}", secret_key=new_secret_key(), base_dir=tmp_path
    )


@pytest.fixture
async def membership_db(membership_settings: Settings) -> AsyncIterator[Settings]:
    """The ``membership_settings`` database, opened and migrated; closed after the test."""
    from membership.db import close_database, open_database
    from membership.db.migrate import migrate

    await open_database(membership_settings)
    await migrate()
    yield membership_settings
    await close_database()


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None)`` registers ``obj`` until the test ends."""
    from membership.plugins import hooks

    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = hooks().register(plugin, name=name)
        names.append(registered)
        return registered

    yield register
    for name in names:
        hooks().unregister(name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API) from the system (``MEMBERSHIP_CHROMIUM`` or
    ``chromium`` on the path: Debian's package; browsers are never downloaded). Without one the
    test skips loudly, unless ``MEMBERSHIP_TEST_BROWSER=required`` (CI), where that is a failure."""
    path = os.environ.get("MEMBERSHIP_CHROMIUM") or shutil.which("chromium")
    if path is None:
        reason = "no chromium on the path (apt-get install chromium)"
        if os.environ.get("MEMBERSHIP_TEST_BROWSER") == "required":
            pytest.fail(f"{reason} and MEMBERSHIP_TEST_BROWSER=required")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# -- factories ------------------------------------------------------------------------------------

_numbers = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class Shop:
    """What most plugin tests start from: a merchant with one program, one store and one member."""

    merchant_id: uuid.UUID
    program: ProgramConfig
    store_id: uuid.UUID
    member_id: uuid.UUID

    async def sale(self, amount: int = 9_900, **options: Any) -> PurchaseResult:
        """:func:`make_sale` of the shop's member at its store."""
        return await make_sale(self.program.id, self.store_id, self.member_id, amount, **options)


async def make_merchant(name: str = "测试商户") -> uuid.UUID:
    """A merchant (商户); returns its id."""
    from membership.org.service import create_merchant

    return await create_merchant(name)


async def make_program(
    merchant_id: uuid.UUID | None = None,
    name: str = "测试会员",
    *,
    settings: dict[str, Any] | None = None,
    plugins: dict[str, dict[str, Any]] | None = None,
    **options: Any,
) -> ProgramConfig:
    """A program (会员方案) of the merchant (a new one when None). ``settings`` are program
    settings as ``membership program set`` takes them (``{"min_redeem_points": 100}``);
    ``plugins`` enables per-program plugins with their settings (``{"brand-day": {"skus":
    ["6901"]}}``: the plugin must be loaded). ``options`` go to the kernel's ``create_program``
    (``currency``, ``time_zone``, ``points_expiry_days``, ``point_value_minor``…)."""
    from membership.org.service import create_program, get_program
    from membership.org.settings import change_settings

    program = await create_program(merchant_id or await make_merchant(), name, **options)
    if settings:
        await change_settings(program.id, settings, "test")
    for plugin, values in (plugins or {}).items():
        await enable_plugin(program.id, plugin, values)
    return await get_program(program.id)


async def enable_plugin(
    program_id: uuid.UUID, name: str, settings: dict[str, Any] | None = None, enabled: bool = True
) -> ProgramConfig:
    """Turn a per-program plugin on (or off) for the program with ``settings`` (checked by its
    schema, as the console and the API do); returns the program as plugins then see it."""
    from membership.org.program_plugins import set_program_plugin
    from membership.org.service import get_program

    await set_program_plugin(program_id, name, enabled, settings or {}, "test")
    return await get_program(program_id)


async def make_store(
    merchant_id: uuid.UUID, code: str | None = None, name: str | None = None, city: str = "上海"
) -> uuid.UUID:
    """A store (门店) of the merchant, with a fresh code unless given; returns its id."""
    from membership.org.service import create_store

    number = next(_numbers)
    return await create_store(merchant_id, code or f"S{number:03d}", name or f"{number}号店", city)


async def make_member(
    program_id: uuid.UUID,
    name: str = "张伟",
    phone: str | None = None,
    store_id: uuid.UUID | None = None,
    **profile: Any,
) -> uuid.UUID:
    """A member (会员) enrolled in the program, with a fresh phone number unless given; returns
    their id. ``profile`` takes the other enrolment fields (``email``, ``birthday``…)."""
    from membership.members.service import enrol

    phone = phone or f"139{next(_numbers):08d}"
    return (await enrol(program_id, {"name": name, "phone": phone, **profile}, store_id=store_id)).id


async def make_card(
    member_id: uuid.UUID, value: str | None = None, kind: str = "card_uid", store_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """A credential issued to the member (发卡): a card with a fresh UID unless ``value`` is
    given; returns the kernel's answer (``id``, ``kind``, ``hint``, ``value``)."""
    from membership.members.service import issue_credential

    value = value or (f"{next(_numbers):08X}" if kind == "card_uid" else None)
    return await issue_credential(member_id, kind, value, store_id=store_id, actor="test")


async def make_sale(
    program_id: uuid.UUID,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    amount: int = 9_900,
    *,
    sku: str = "6901",
    category: str = "",
    lines: list[LineInput] | None = None,
    now: dt.datetime | None = None,
    **options: Any,
) -> PurchaseResult:
    """A purchase (消费) recorded as a till records it: one line of ``amount`` fen (``sku``,
    ``category``) unless ``lines`` are given; ``now`` sets the clock (see :class:`Clock`);
    ``options`` go to the kernel's ``record_purchase`` (``payments``, ``coupons``,
    ``receipt_no``, ``idempotency_key``…)."""
    from membership.ledger.rules import LineInput
    from membership.sales.service import record_purchase

    lines = lines or [LineInput(sku, 1, amount, "商品", category)]
    return await record_purchase(program_id, store_id, member_id, lines, now=now, **options)


async def make_shop(
    *, settings: dict[str, Any] | None = None, plugins: dict[str, dict[str, Any]] | None = None
) -> Shop:
    """A merchant with a program (``settings``, ``plugins`` as :func:`make_program`), a store in
    上海 and a member enrolled there."""
    merchant_id = await make_merchant()
    program = await make_program(merchant_id, settings=settings, plugins=plugins)
    store_id = await make_store(merchant_id)
    return Shop(merchant_id, program, store_id, await make_member(program.id, store_id=store_id))


# -- a movable clock ------------------------------------------------------------------------------


class Clock:
    """A clock the test moves: purchases, refunds and jobs happen at :attr:`now`, so a test walks
    a year of points expiry or tier reviews in seconds.

    Example::

        async def test_points_expire(shop, clock):
            await clock.sale(shop, 10_000)
            clock.advance(days=400)
            await clock.run_job("expire-points")
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC).replace(microsecond=0)

    def advance(self, days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
        """Move the clock forward; returns the new time."""
        self.now += dt.timedelta(days=days, hours=hours, minutes=minutes)
        return self.now

    def set(self, moment: dt.datetime) -> dt.datetime:
        """Set the clock to ``moment`` (an aware time)."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware time (with a zone)")
        self.now = moment
        return self.now

    async def record_purchase(
        self, program_id: uuid.UUID, store_id: uuid.UUID, member_id: uuid.UUID, lines: list[LineInput], **options: Any
    ) -> PurchaseResult:
        """The kernel's ``record_purchase`` at :attr:`now`."""
        from membership.sales.service import record_purchase

        return await record_purchase(program_id, store_id, member_id, lines, now=self.now, **options)

    async def sale(self, shop: Shop, amount: int = 9_900, **options: Any) -> PurchaseResult:
        """:func:`make_sale` of the shop's member at its store, at :attr:`now`."""
        return await make_sale(shop.program.id, shop.store_id, shop.member_id, amount, now=self.now, **options)

    async def refund(self, sale_id: uuid.UUID, lines: dict[int, int] | None = None, **options: Any) -> RefundResult:
        """The kernel's ``refund`` (all of the sale, or ``{line_no: quantity}``) at :attr:`now`."""
        from membership.sales.service import refund

        return await refund(sale_id, lines, now=self.now, **options)

    async def run_job(self, name: str) -> RunOutcome:
        """Run job ``name`` (``expire-points``, ``review-tiers``, a plugin's…) as of :attr:`now`."""
        from membership.jobs.runner import run_job

        return await run_job(name, as_of=self.now)


# -- fixtures of the kit --------------------------------------------------------------------------


@pytest.fixture
async def shop(membership_db: Settings) -> Shop:
    """:func:`make_shop` in the test's database."""
    return await make_shop()


@pytest.fixture
def clock() -> Clock:
    """A :class:`Clock` at the present time."""
    return Clock()


@pytest.fixture
async def load_plugins(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Awaitable[dict[str, Any]]]]:
    """``await load_plugins("brand-day", …)`` loads the named installed plugins through their
    ``membership`` entry points (the way ``membership serve`` does; no other entry point is
    loaded), migrates their tables when a database is open, and returns the loaded plugin objects
    by name. A name that is not installed fails the test. Unloaded after the test."""
    from membership import plugins
    from membership.db.engine import current_engine
    from membership.db.migrate import migrate
    from membership.errors import NotConfigured

    async def load(*names: str) -> dict[str, Any]:
        monkeypatch.setattr(plugins, "_loading_entry_points", lambda: True)
        monkeypatch.setenv("MEMBERSHIP_PLUGINS", ",".join(names))
        plugins.reset_hooks()
        manager = plugins.hooks().pm
        missing = [name for name in names if manager.get_plugin(name) is None]
        if missing:
            pytest.fail(f"no installed entry point named {', '.join(missing)} in the 'membership' group")
        try:
            current_engine()
        except NotConfigured:
            pass
        else:
            await migrate()
        return {name: manager.get_plugin(name) for name in names}

    yield load
    monkeypatch.undo()
    plugins.reset_hooks()


@pytest.fixture
async def api_client(membership_db: Settings) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """``await api_client("pos", merchant_id=…)``: an ``httpx.AsyncClient`` whose base URL is
    ``/api/v1`` of the real app (``create_app`` over the test's database, built at the first
    call, so with the plugins loaded by then), with a fresh API key of that scope (``read``,
    ``pos``, ``admin``) bound to the merchant or store given (only ``admin`` may have neither) and
    ``Accept-Language`` ``lang``. Closed after the test."""
    import httpx

    from membership.access.service import create_api_key

    clients: list[httpx.AsyncClient] = []
    apps: list[Any] = []

    async def open_client(
        scope: str = "pos",
        *,
        merchant_id: uuid.UUID | None = None,
        store_id: uuid.UUID | None = None,
        lang: str = "zh-CN",
    ) -> httpx.AsyncClient:
        if not apps:
            apps.append(app_for(membership_db))
        key = await create_api_key(f"test-{scope}", [scope], merchant_id=merchant_id, store_id=store_id)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=apps[0]),  # the app runs in the test's own event loop
            base_url="http://testserver/api/v1",
            headers={"Authorization": f"Bearer {key.secret}", "Accept-Language": lang},
        )
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.aclose()


_apps: dict[tuple, tuple[Any, list[object]]] = {}


def app_for(settings: Settings) -> Any:
    """The application (``create_app(settings, open_db=False)``) over the database the test has
    opened. Apps are kept and shared between tests with the same secret key and the same registered
    plugins (the app reads everything else from the open database); a test that registers a plugin
    gets an app with that plugin's routes and pages."""
    from membership.app import create_app
    from membership.plugins import hooks

    plugins = hooks().pm.list_name_plugin()
    key = (settings.secret_key, tuple((name, id(plugin)) for name, plugin in plugins))
    if key not in _apps:
        if len(_apps) >= 8:  # plugin objects of past tests are let go
            _apps.pop(next(iter(_apps)))
        _apps[key] = (create_app(settings, open_db=False), [plugin for _, plugin in plugins])  # ids stay theirs
    return _apps[key][0]


# -- a demo served in a child process ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DemoServer:
    """A demo served by :func:`serve_demo`: its address, the demo API key and the console owner's
    (``demo``) password it printed, its folder and its log."""

    base: str
    key: str
    password: str
    folder: Path
    log: Path


def _printed_demo(server: subprocess.Popen, log: Path, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if "demo API key" in text and "API:" in text:
            return text
        if server.poll() is not None:
            raise AssertionError(f"membership serve exited with {server.returncode}:\n{text}")
        time.sleep(1)
    raise AssertionError(f"no demo within {seconds} s:\n{log.read_text(errors='replace')}")


def _listening(base: str, server: subprocess.Popen, seconds: float) -> None:
    """The demo prints its addresses just before the server binds its port: wait for it."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # answered: listening
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def serve_demo(industry: str, folder: Path, plugins: str | None = None, seconds: float = 600) -> Iterator[DemoServer]:
    """``membership serve --demo --industry INDUSTRY`` from the empty ``folder`` in a child process
    (the pack found through its entry point; ``plugins`` is ``MEMBERSHIP_PLUGINS``, default the
    industry alone; no scheduler), until it listens; stopped when the block ends.

    Example::

        def test_the_demo(tmp_path):
            with serve_demo("finance", tmp_path) as demo:
                answer = httpx.get(f"{demo.base}/api/v1/programs", headers={"Authorization": f"Bearer {demo.key}"})
                assert answer.status_code == 200
    """
    from membership.db.throwaway import free_port

    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "MEMBERSHIP_PLUGINS": plugins or industry, "MEMBERSHIP_SCHEDULER": "false", "COLUMNS": "200"}
    env.pop("MEMBERSHIP_DATABASE_URL", None)
    env.pop("MEMBERSHIP_CONFIG", None)
    command = [sys.executable, "-m", "membership.cli", "serve", "--demo", "--industry", industry, "--port", str(port)]
    with log.open("w", encoding="utf-8") as out:
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        text = _printed_demo(server, log, seconds)
        base = f"http://127.0.0.1:{port}"
        _listening(base, server, 60)
        key = re.search(r"mk_[A-Za-z0-9_-]+", text)
        password = re.search(r"demo / (\S+)", text)
        if key is None or password is None:
            raise AssertionError(f"the demo printed no key or password:\n{text}")
        yield DemoServer(base, key[0], password[1], folder, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server that does not stop
            server.kill()
            server.wait(timeout=10)
