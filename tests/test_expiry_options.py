"""Points expiry to the moment or through the whole last day in the program's time zone, and the
member's next-expiring points in identify, the member API, balances and the console's member
page, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from membership.ledger.expiry import expire_points
from membership.ledger.rules import LineInput
from membership.ledger.service import MemberAccounts
from membership.org.service import get_program, update_settings
from membership.sales.service import record_purchase
from tests.console_client import csrf_of, text_of
from tests.helpers import ledger_violations


def _quiet(done: int, total: int) -> None:
    """A job's progress, unread."""


async def _policy(api, **policy) -> None:
    path = f"/programs/{api.shop.program.id}/points-policy"
    answer = await api.call("PUT", path, "admin", {"expiry": "days_after", **policy})
    assert answer.status_code == 200, answer.text
    assert answer.json()["expiry_time"] == policy.get("expiry_time", "exact")


async def _lot(api) -> dict:
    lots = await api.call("GET", f"/members/{api.shop.member_id}/points-lots", "read")
    return lots.json()["items"][0]


async def _spendable(api, at: dt.datetime) -> int:
    program = await get_program(api.shop.program.id)
    return (await MemberAccounts.load(program, api.shop.member_id, at)).balances().points


async def test_points_usable_through_the_whole_last_day_in_the_programs_zone(any_api):
    api = any_api
    zone = api.shop.program.zone
    await _policy(api, expiry_days=30, expiry_time="end_of_day")
    bought = await api.buy(api.sale(12_000))
    assert bought.status_code == 201, bought.text
    lot = await _lot(api)
    earned = dt.datetime.fromisoformat(lot["earned_at"])
    last_day = (earned + dt.timedelta(days=30)).astimezone(zone).date()
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone)
    assert dt.datetime.fromisoformat(lot["expires_at"]) == midnight
    before = midnight - dt.timedelta(seconds=1)  # 23:59:59 of the last day, local
    assert await _spendable(api, before) == 120 and await _spendable(api, midnight) == 0
    assert (await expire_points(before, _quiet)).processed == 0
    assert (await expire_points(midnight, _quiet)).processed == 1
    assert await ledger_violations() == []


async def test_the_exact_policy_expires_points_at_the_moment_they_were_earned(any_api):
    api = any_api
    await _policy(api, expiry_days=30)
    await api.buy(api.sale(12_000))
    lot = await _lot(api)
    moment = dt.datetime.fromisoformat(lot["earned_at"]) + dt.timedelta(days=30)
    assert dt.datetime.fromisoformat(lot["expires_at"]) == moment
    assert await _spendable(api, moment - dt.timedelta(seconds=1)) == 120
    assert await _spendable(api, moment) == 0


async def test_the_next_expiring_points_in_identify_the_member_api_and_balances(any_api):
    api = any_api
    zone = api.shop.program.zone
    nothing = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13812345678"})
    assert nothing.status_code == 200 and nothing.json()["next_expiry"] is None
    await _policy(api, expiry_days=30, expiry_time="end_of_day")
    await api.buy(api.sale(12_000))
    await api.buy(api.sale(3_000))  # the same last day: counted together
    await _policy(api, expiry_days=60, expiry_time="end_of_day")
    await api.buy(api.sale(50_000))  # later: not next
    last_day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).astimezone(zone).date()
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone)
    expected = {"points": 150, "last_day": last_day.isoformat()}
    found = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13812345678"})
    member = await api.call("GET", f"/members/{api.shop.member_id}", "read")
    balances = await api.call("GET", f"/members/{api.shop.member_id}/balances", "read")
    for answer in (found, member, balances):
        assert answer.status_code == 200, answer.text
        soon = answer.json()["next_expiry"]
        assert {"points": soon["points"], "last_day": soon["last_day"]} == expected, answer.json()
        assert dt.datetime.fromisoformat(soon["at"].replace("Z", "+00:00")) == midnight
    assert found.json()["balances"]["points"] == 650
    assert balances.json()["next_expiry_at"] == balances.json()["next_expiry"]["at"]


async def test_the_member_page_says_how_many_points_expire_and_until_when(any_console):
    console = any_console
    shop = console.shop
    policy = {"expiry": "days_after", "expiry_days": 10, "expiry_time": "end_of_day"}
    await update_settings(shop.program.id, {"points_policy": policy})
    program = await get_program(shop.program.id)
    await record_purchase(program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 8_800)])
    last_day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).astimezone(program.zone).date()
    async with console.logged_in("clerk") as client:
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
        assert f"最近到期 88 积分，可用至 {last_day}" in page
        token = csrf_of(client)
        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": token})
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
        assert f"Next expiry 88 points, usable through {last_day}" in page
