"""Fixtures of the finance pack's tests: the kernel's databases (``tests/conftest.py`` of the
repository: a migrated SQLite file per test, a throwaway PostgreSQL 15 cluster, ``any_db`` for
both), the kernel's test kit (``load_plugins`` loads the pack through its entry point and migrates
its tables), a bank with the pack on (:mod:`finance_bank`), and the demo bank served by
``membership serve --demo --industry finance`` in a child process (``demo_server``, the kit's
:func:`~membership.testing.serve_demo`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if (ROOT / "tests" / "conftest.py").exists() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the kernel's test fixtures, as `pytest plugins/finance/tests` from the root

from finance_bank import make_bank  # noqa: E402

from membership.testing import DemoServer, serve_demo  # noqa: E402
from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, shared with its own tests
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db
citus_server, citus_template = kernel.citus_server, kernel.citus_template  # with MEMBERSHIP_TEST_CITUS


@pytest.fixture
async def finance(any_db, load_plugins):
    """The pack loaded through its entry point (``finance``), its tables migrated."""
    return (await load_plugins("finance"))["finance"]


@pytest.fixture
async def bank(finance):
    """银河银行 with the pack on: see :func:`finance_bank.make_bank`."""
    return await make_bank()


@pytest.fixture
async def api(bank, any_db):
    """The real app's ``/api/v1`` over the bank (the app built with the pack loaded)."""
    import httpx
    from finance_bank import Client

    from membership.access.service import create_api_key
    from membership.testing import app_for, make_merchant

    keys = {
        scope: (await create_api_key(f"test-{scope}", [scope], merchant_id=bank.merchant_id)).secret
        for scope in ("read", "pos", "admin")
    }
    keys["till"] = (await create_api_key("card-centre", ["pos"], store_id=bank.centre)).secret
    stranger = await make_merchant("别家银行")
    keys["stranger"] = (await create_api_key("stranger", ["admin"], merchant_id=stranger)).secret
    transport = httpx.ASGITransport(app=app_for(any_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Client(http, keys)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[DemoServer]:
    """The demo bank served from an empty folder (started once for the tests that need it)."""
    with serve_demo("finance", tmp_path_factory.mktemp("finance-demo")) as server:
        yield server
