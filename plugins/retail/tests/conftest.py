"""Fixtures of the retail pack's tests.

The kernel's database fixtures (``tests/conftest.py``: ``db``, ``pg_db``, ``any_db`` on a migrated
SQLite file and on a throwaway PostgreSQL 15 cluster) are reused when the tests run from the
repository (``pytest plugins/retail/tests``); the kit's fixtures (``load_plugins``, ``clock``…)
come with the kernel's pytest plugin. ``retail`` is a shop whose program has the pack switched on,
loaded through its entry point as a deployment loads it, and migrated.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
if (ROOT / "tests" / "conftest.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from membership.testing import Shop, enable_plugin, make_shop  # noqa: E402
from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, under their own names
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db
citus_server, citus_template = kernel.citus_server, kernel.citus_template  # with MEMBERSHIP_TEST_CITUS

NAME = "retail"


@dataclasses.dataclass
class Retail:
    """A shop with the retail pack on for its program (``shop.program`` as hooks see it)."""

    shop: Shop
    plugin: Any

    @property
    def program(self):
        return self.shop.program


@pytest.fixture
async def retail(any_db, load_plugins) -> Retail:
    """The pack loaded through its entry point and migrated, on SQLite and on PostgreSQL, and a
    shop whose program has it on."""
    loaded = await load_plugins(NAME)
    shop = await make_shop()
    program = await enable_plugin(shop.program.id, NAME)
    return Retail(dataclasses.replace(shop, program=program), loaded[NAME])


@pytest.fixture
async def retail_api(retail, any_db):
    """``await retail_api(scope, store_id=None)``: an httpx client on ``/api/v1`` of the real app
    (built after the pack was loaded, so its routes are mounted), with a fresh key of the shop's
    merchant (bound to ``store_id`` when given)."""
    from membership.access.service import create_api_key
    from membership.testing import app_for

    app = app_for(any_db)
    clients: list[httpx.AsyncClient] = []

    async def client(scope: str = "pos", store_id: uuid.UUID | None = None, lang: str = "zh-CN") -> httpx.AsyncClient:
        merchant = None if store_id else retail.shop.merchant_id
        key = await create_api_key(f"test-{scope}", [scope], merchant_id=merchant, store_id=store_id)
        opened = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver/api/v1",
            headers={"Authorization": f"Bearer {key.secret}", "Accept-Language": lang},
        )
        clients.append(opened)
        return opened

    yield client
    for opened in clients:
        await opened.aclose()
