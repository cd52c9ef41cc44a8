"""The built-in reports the dashboard draws, on SQLite and PostgreSQL (their SQL differs)."""

from __future__ import annotations

import datetime as dt

from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.plugins import hooks
from membership.sales import service as sales
from tests.helpers import make_shop

TIERS = [{"code": "silver", "name": "银卡", "min_growth": 100}, {"code": "gold", "name": "金卡", "min_growth": 1000}]


async def _run(name, program, **params):
    return (await hooks().reports()[name]().run(program.id, params)).as_dicts()


def _months_ago(months: int, zone) -> dt.datetime:
    """Noon on the 15th, ``months`` local months before this one."""
    today = dt.datetime.now(zone)
    index = today.year * 12 + today.month - 1 - months
    return dt.datetime(index // 12, index % 12 + 1, 15, 12, tzinfo=zone).astimezone(dt.UTC)


async def test_dashboard_figures_tiers_and_new_vs_returning_buyers(any_db):
    shop = await make_shop(settings={"tiers": TIERS})
    program = shop.program
    li = (await members.enrol(program.id, {"name": "李娜", "phone": "13900000001"})).id
    await members.enrol(program.id, {"name": "王芳", "phone": "13900000002"})  # never buys
    two_months_ago, now = _months_ago(2, program.zone), dt.datetime.now(dt.UTC)
    buy = sales.record_purchase
    await buy(program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 5_000)], now=two_months_ago)
    await buy(program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 120_000)], occurred_at=now)
    await buy(program.id, shop.store_id, li, [LineInput("B", 2, 6_000)], occurred_at=now)
    await buy(program.id, shop.store_id, li, [LineInput("B", 1, 3_000)], occurred_at=now)

    figures = (await _run("dashboard_figures", program))[0]
    assert figures == {
        "members": 3,
        "new_this_month": 3,
        "active_members": 2,
        "repeat_buyers": 1,  # 李娜 bought twice in 30 days; 张伟 once
        "sales_this_month": 3,
        "revenue_this_month": 120_000 + 12_000 + 3_000,
    }
    tiers = await _run("tier_distribution", program)
    assert tiers == [{"tier": "", "members": 1}, {"tier": "silver", "members": 1}, {"tier": "gold", "members": 1}]

    this_month = now.astimezone(program.zone).strftime("%Y-%m")
    buyers = await _run("new_vs_returning", program, months=12)
    assert buyers == [
        {"month": two_months_ago.astimezone(program.zone).strftime("%Y-%m"), "new_buyers": 1, "returning_buyers": 0},
        {"month": this_month, "new_buyers": 1, "returning_buyers": 1},
    ]
    assert [row["month"] for row in await _run("new_vs_returning", program, months=1)] == [this_month]
    by_month = await _run("sales_by_month", program, months=12)
    assert [(row["sales"], row["revenue"]) for row in by_month] == [(1, 5_000), (3, 135_000)]
