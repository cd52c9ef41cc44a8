"""A scenic area for the tourism pack's tests: 云栖山 with a ticket office (and its gates), a
restaurant and a hotel, tiers and two passes sold as paid plans (an annual pass with family members,
two entries a day and 30 minutes between entries; a summer pass for one person, once a day), the
venues' pass holders' benefits, and a member."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.plugin import LineInput, ProgramConfig, get_program, set_paid_plans
from membership.testing import deliver_events, make_member, make_merchant, make_program, make_store
from membership_tourism import e_card, entries, gates, pass_plans, passes, venues

TIERS = [
    {"code": "regular", "name": "普通会员", "threshold": 0},
    {"code": "silver", "name": "季卡会员", "threshold": 1_000_000},
    {"code": "gold", "name": "年卡会员", "threshold": 5_000_000},
]
PLANS = [
    {"code": "year-pass", "name": "云栖山年卡", "tier": "gold", "fee": 29_800, "days": 365},
    {"code": "summer-pass", "name": "夏季季卡", "tier": "silver", "fee": 12_800, "days": 92},
    {"code": "vip", "name": "金卡会员", "tier": "gold", "fee": 9_900, "days": 365},
]
YEAR = {"kind": "annual", "max_family": 2, "daily_entries": 2, "reentry_minutes": 30}
SUMMER = {"kind": "seasonal", "max_family": 0, "daily_entries": 1, "reentry_minutes": 0}
MEAL = LineInput("D001", 1, 10_000, "农家土菜套餐", "套餐")
ROOM = LineInput("H001", 1, 68_800, "山景大床房", "客房")
RIDE = LineInput("T001", 1, 3_000, "观光车票", "交通")
ID_NUMBER = "11010519491231002X"  # GB 11643's own example
DAY = dt.timedelta(days=1)


def at_local(program: ProgramConfig, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC moment at ``hour:minute`` of the local ``day``."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=program.zone).astimezone(dt.UTC)


@dataclasses.dataclass
class Park:
    """云栖山: a merchant, its program with the pack on, three stores, gates S1/N1 at the office."""

    merchant_id: uuid.UUID
    program: ProgramConfig
    office: uuid.UUID
    restaurant: uuid.UUID
    hotel: uuid.UUID
    member_id: uuid.UUID

    async def member(self, name: str = "李娜") -> uuid.UUID:
        """Another member of the program."""
        return await make_member(self.program.id, name, store_id=self.office)

    async def sell(
        self, member_id: uuid.UUID | None = None, plan: str = "year-pass", at: dt.datetime | None = None
    ) -> dict[str, Any]:
        """A pass sold (or renewed) at the office; returns the pass's row."""
        row, _ = await passes.sell_pass(
            member_id or self.member_id, plan, "wechat_pay", self.office, actor="test", at=at
        )
        return row

    async def person(self, pass_row: dict[str, Any], member_id: uuid.UUID | None = None) -> dict[str, Any]:
        """The person row of ``member_id`` (default: the holder) on the pass."""
        who = member_id or pass_row["holder_id"]
        return next(p for p in await passes.people(pass_row["id"]) if p["member_id"] == who)

    async def code(
        self, pass_row: dict[str, Any], member_id: uuid.UUID | None = None, at: dt.datetime | None = None
    ) -> str:
        """The e-card code the person shows at ``at`` (default now)."""
        person = await self.person(pass_row, member_id)
        found = await e_card.code_for(
            self.program, pass_row["holder_id"], pass_row["secret"], person["id"], at or dt.datetime.now(dt.UTC)
        )
        return found.token

    async def enter(
        self, kind: str, value: str, at: dt.datetime | None = None, gate: str = "S1", key: str | None = None
    ) -> entries.Decision:
        """A try at a gate."""
        return await entries.admit(self.program, gate, kind, value, at, key)

    async def buy(
        self, store_id: uuid.UUID, *lines: LineInput, member_id: uuid.UUID | None = None, now: dt.datetime | None = None
    ) -> Any:
        """A purchase at a venue (its events delivered)."""
        from membership.sales.service import record_purchase

        sale = await record_purchase(
            self.program.id, store_id, member_id or self.member_id, list(lines), actor="test", now=now
        )
        await deliver_events()
        return sale

    async def refreshed(self) -> ProgramConfig:
        """The program as plugins see it now."""
        self.program = await get_program(self.program.id)
        return self.program


async def make_park(settings: dict[str, Any] | None = None) -> Park:
    """云栖山 with the pack on (``settings`` of the pack), its passes, venues and gates."""
    from membership.tiers import service as tiers

    merchant = await make_merchant("云栖山水文旅集团")
    program = await make_program(merchant, "云栖山水会员", plugins={"tourism": settings or {}})
    office = await make_store(merchant, "YQ01", "云栖山 · 景区售票处", "杭州")
    restaurant = await make_store(merchant, "YQ03", "云栖山 · 溪畔餐厅", "杭州")
    hotel = await make_store(merchant, "YQ02", "云栖山 · 山居酒店", "杭州")
    await tiers.configure(program.id, TIERS, {"metric": "spend", "period_days": 365}, "test")
    await set_paid_plans(program.id, PLANS, "test")
    await pass_plans.save_plan(program.id, "year-pass", YEAR, "test")
    await pass_plans.save_plan(program.id, "summer-pass", SUMMER, "test")
    await venues.save_venue(program.id, office, {"format": "tickets"}, "test")
    await venues.save_venue(
        program.id, restaurant, {"format": "dining", "pass_points_pct": 10, "pass_discount_pct": 10}, "test"
    )
    await venues.save_venue(program.id, hotel, {"format": "hotel", "pass_discount_pct": 15}, "test")
    await gates.save_gate(program.id, "S1", {"name": "南门闸机", "store": "YQ01"}, "test")
    await gates.save_gate(program.id, "N1", {"name": "北门闸机", "store": str(office)}, "test")
    member = await make_member(program.id, "张伟", store_id=office)
    return Park(merchant, await get_program(program.id), office, restaurant, hotel, member)


@dataclasses.dataclass
class Client:
    """The real app's ``/api/v1`` over the test's database, with keys of the park's merchant per
    scope (``read``, ``pos``, ``admin``), a gate's key bound to the office (``gate``), the hotel's
    till (``hotel``) and another merchant's (``stranger``)."""

    http: Any
    keys: dict[str, str]

    async def call(
        self, method: str, path: str, key: str = "read", json: Any = None, headers: dict | None = None, **params: Any
    ) -> Any:
        sent = {
            "Authorization": f"Bearer {self.keys[key]}",
            "Accept-Language": params.pop("lang", "en"),
            **(headers or {}),
        }
        return await self.http.request(method, f"/api/v1{path}", json=json, params=params or None, headers=sent)
