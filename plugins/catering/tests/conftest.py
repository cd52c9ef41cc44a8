"""Fixtures of the catering pack's tests: the kernel's databases (``tests/conftest.py`` of the
repository: a migrated SQLite file per test, a throwaway PostgreSQL 15 cluster, ``any_db`` for
both), the kernel's test kit (``load_plugins`` loads the pack through its entry point and migrates
its tables), and a restaurant group with the pack on, a coffee stamp card and its reward."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
if (ROOT / "tests" / "conftest.py").exists() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the kernel's test fixtures, as `pytest plugins/catering/tests` from the root

from membership.plugin import LineInput, ProgramConfig, create_coupon_template, get_program  # noqa: E402
from membership.testing import deliver_events, make_member, make_merchant, make_program, make_store  # noqa: E402
from membership_catering import stamps  # noqa: E402
from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, shared with its own tests
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db
citus_server, citus_template = kernel.citus_server, kernel.citus_template  # with MEMBERSHIP_TEST_CITUS

LATTE = LineInput("C002", 1, 2_800, "拿铁", "咖啡")
FISH = LineInput("D001", 1, 8_800, "剁椒鱼头", "热菜")
REWARD = {"code": "free-latte", "name": "免费拿铁一杯", "kind": "free_item", "free_sku": "C002", "valid_days": 30}
COFFEE = {
    "name": "咖啡集点卡：买 10 杯送 1 杯",
    "categories": ["咖啡"],
    "stamps_needed": 10,
    "reward_template": "free-latte",
    "valid_days": 90,
    "starts_on": "2020-01-01",
}


def coffees(quantity: int, sku: str = "C002") -> LineInput:
    """``quantity`` lattes on one line."""
    return dataclasses.replace(LATTE, sku=sku, quantity=quantity)


@dataclasses.dataclass
class Restaurant:
    """悦食: a merchant, its program with the pack on, two stores, a member."""

    merchant_id: uuid.UUID
    program: ProgramConfig
    store_id: uuid.UUID
    other_store_id: uuid.UUID
    member_id: uuid.UUID

    async def buy(
        self,
        *lines: LineInput,
        member_id: uuid.UUID | None = None,
        store_id: uuid.UUID | None = None,
        deliver: bool = True,
        **options: Any,
    ) -> Any:
        """A purchase as a till records it; its events delivered (listeners run) unless not."""
        from membership.sales.service import record_purchase

        sale = await record_purchase(
            self.program.id,
            store_id or self.store_id,
            member_id or self.member_id,
            list(lines or [LATTE]),
            **options,
        )
        if deliver:
            await deliver_events()
        return sale

    async def refund(self, sale_id: uuid.UUID, lines: dict[int, int] | None = None, **options: Any) -> Any:
        """A refund (all of the sale, or ``{line_no: quantity}``), its events delivered."""
        from membership.sales.service import refund

        done = await refund(sale_id, lines, **options)
        await deliver_events()
        return done

    async def cards(self, member_id: uuid.UUID | None = None, at: dt.datetime | None = None) -> dict[str, Any]:
        """The member's cards by scheme code."""
        found = await stamps.member_cards(self.program.id, member_id or self.member_id, at)
        return {card["scheme"]: card for card in found}

    async def refreshed(self) -> ProgramConfig:
        """The program as plugins see it now."""
        self.program = await get_program(self.program.id)
        return self.program


@pytest.fixture
async def catering(any_db, load_plugins):
    """The pack loaded through its entry point (``catering``), its tables migrated."""
    return (await load_plugins("catering"))["catering"]


@pytest.fixture
async def restaurant(catering) -> Restaurant:
    """悦食餐饮集团 with the pack on, the coffee stamp card (10 for a free latte, 90 days) and its reward."""
    merchant = await make_merchant("悦食餐饮集团")
    program = await make_program(merchant, "悦食会员", plugins={"catering": {}})
    store = await make_store(merchant, "SH01", "悦食 · 南京西路店")
    other = await make_store(merchant, "HZ01", "悦食 · 西湖店", "杭州")
    member = await make_member(program.id, store_id=store)
    await create_coupon_template(program.id, REWARD, "test")
    await stamps.save_scheme(program.id, "coffee", COFFEE, "test")
    return Restaurant(merchant, program, store, other, member)


@dataclasses.dataclass
class Client:
    """The real app's ``/api/v1`` over the test's database, with keys of the restaurant's merchant
    per scope (``read``, ``pos``, ``admin``) and one of another merchant (``stranger``)."""

    http: Any
    keys: dict[str, str]

    async def call(self, method: str, path: str, key: str = "read", json: Any = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[key]}", "Accept-Language": params.pop("lang", "en")}
        return await self.http.request(method, f"/api/v1{path}", json=json, params=params or None, headers=headers)


@pytest.fixture
async def api(restaurant, any_db):
    """The API over the restaurant (the app built with the pack loaded)."""
    import httpx

    from membership.access.service import create_api_key
    from membership.testing import app_for

    keys = {
        scope: (await create_api_key(f"test-{scope}", [scope], merchant_id=restaurant.merchant_id)).secret
        for scope in ("read", "pos", "admin")
    }
    stranger = await make_merchant("别家餐厅")
    keys["stranger"] = (await create_api_key("stranger", ["admin"], merchant_id=stranger)).secret
    transport = httpx.ASGITransport(app=app_for(any_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Client(http, keys)
