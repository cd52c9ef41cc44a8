"""Fixtures of the tourism pack's tests: the kernel's databases (``tests/conftest.py`` of the
repository: a migrated SQLite file per test, a throwaway PostgreSQL 15 cluster, ``any_db`` for
both), the kernel's test kit (``load_plugins`` loads the pack through its entry point and migrates
its tables), and a scenic area with the pack on (:mod:`tourism_park`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if (ROOT / "tests" / "conftest.py").exists() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the kernel's test fixtures, as `pytest plugins/tourism/tests` from the root

from tourism_park import make_park  # noqa: E402

from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, shared with its own tests
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db
citus_server, citus_template = kernel.citus_server, kernel.citus_template  # with MEMBERSHIP_TEST_CITUS


@pytest.fixture
async def tourism(any_db, load_plugins):
    """The pack loaded through its entry point (``tourism``), its tables migrated."""
    return (await load_plugins("tourism"))["tourism"]


@pytest.fixture
async def park(tourism):
    """云栖山 with the pack on: see :func:`tourism_park.make_park`."""
    return await make_park()


@pytest.fixture
async def api(park, any_db):
    """The real app's ``/api/v1`` over the park (the app built with the pack loaded)."""
    import httpx
    from tourism_park import Client

    from membership.access.service import create_api_key
    from membership.testing import app_for, make_merchant

    keys = {
        scope: (await create_api_key(f"test-{scope}", [scope], merchant_id=park.merchant_id)).secret
        for scope in ("read", "pos", "admin")
    }
    keys["gate"] = (await create_api_key("gate-s1", ["pos"], store_id=park.office)).secret
    keys["hotel"] = (await create_api_key("hotel-till", ["pos"], store_id=park.hotel)).secret
    stranger = await make_merchant("别家景区")
    keys["stranger"] = (await create_api_key("stranger", ["admin"], merchant_id=stranger)).secret
    transport = httpx.ASGITransport(app=app_for(any_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Client(http, keys)
