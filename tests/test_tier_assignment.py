"""A tier set by hand with a reason and an end date, through the API on SQLite and PostgreSQL: it
applies at once, the review waits for it and does not go below it until then (a refund neither),
a purchase may still lift the member higher; after the end (or ended early) the policy decides."""

from __future__ import annotations

import datetime as dt

from membership.db import fetch
from membership.members.service import member_row
from membership.tiers.service import configure, review_tiers

TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 0},
    {"code": "gold", "name": "金卡", "threshold": 3_000},
    {"code": "platinum", "name": "铂金卡", "threshold": 10_000},
]
POLICY = {"metric": "growth", "window_days": 365, "period_days": 30, "grace_days": 0, "downgrade": "recalculate"}


def _quiet(done: int, total: int) -> None:
    """A job's progress, unread."""


async def _tier(api) -> str | None:
    return (await member_row(api.shop.member_id))["tier"]


async def _assign(api, tier: str, days: int, reason: str = "集团大客户，经理批准"):
    ends_on = (dt.datetime.now(api.shop.program.zone) + dt.timedelta(days=days)).date()
    body = {"tier": tier, "ends_on": ends_on.isoformat(), "reason": reason}
    return await api.call("PUT", f"/members/{api.shop.member_id}/tier-assignment", "admin", body)


async def test_a_tier_set_by_hand_is_a_floor_until_its_end(any_api):
    api = any_api
    await configure(api.shop.program.id, TIERS, POLICY, "test")
    assert (await api.call("GET", f"/members/{api.shop.member_id}/tier-assignment", "read")).status_code == 404
    answer = await _assign(api, "gold", 60)
    assert answer.status_code == 200, answer.text
    ends_at = dt.datetime.fromisoformat(answer.json()["ends_at"].replace("Z", "+00:00"))
    assert ends_at.astimezone(api.shop.program.zone).time() == dt.time(0)  # through the whole last day
    assert await _tier(api) == "gold"
    held = await api.call("GET", f"/members/{api.shop.member_id}/tier-assignment", "read")
    assert held.json()["tier"] == "gold" and held.json()["reason"] == "集团大客户，经理批准"
    history = (await api.call("GET", f"/members/{api.shop.member_id}/tier-history", "read")).json()["items"]
    assert (history[0]["reason"], history[0]["to_tier"]) == ("manual", "gold")
    assert await fetch("SELECT id FROM audit_log WHERE action = 'tier.assign'")

    bought = await api.buy(api.sale(1_000_000))  # growth 10,000: a purchase still lifts them higher
    assert bought.json()["tier"] == "platinum"
    line = [{"line_no": 1, "quantity": 1}]
    await api.call("POST", f"/transactions/{bought.json()['id']}/refund", json={"lines": line})
    assert await _tier(api) == "gold"  # the refund takes platinum back, to the floor
    now = dt.datetime.now(dt.UTC)
    await review_tiers(now + dt.timedelta(days=31), _quiet)  # the review after platinum's period
    assert await _tier(api) == "gold"  # qualifies for silver only: the floor holds
    await review_tiers(ends_at + dt.timedelta(days=31), _quiet)
    assert await _tier(api) == "silver"  # after the end, the policy decides


async def test_ending_early_and_replacing_an_assignment(any_api):
    api = any_api
    await configure(api.shop.program.id, TIERS, POLICY, "test")
    await _assign(api, "platinum", 30)
    assert await _tier(api) == "platinum"
    replaced = await _assign(api, "gold", 90, "降为金卡")
    assert replaced.status_code == 200 and await _tier(api) == "gold"
    ended = await api.call(
        "DELETE", f"/members/{api.shop.member_id}/tier-assignment", "admin", params={"reason": "到期"}
    )
    assert ended.status_code == 204
    assert (await api.call("GET", f"/members/{api.shop.member_id}/tier-assignment", "read")).status_code == 404
    await review_tiers(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), _quiet)
    assert await _tier(api) == "silver"
    again = await api.call("DELETE", f"/members/{api.shop.member_id}/tier-assignment", "admin")
    assert again.status_code == 404 and again.json()["code"] == "tier_assignment_not_found"


async def test_bad_assignments_are_refused(any_api):
    api = any_api
    await configure(api.shop.program.id, TIERS, POLICY, "test")
    unknown = await _assign(api, "diamond", 30)
    assert unknown.status_code == 422 and "not a tier of the program" in unknown.text
    past = await _assign(api, "gold", -2)
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "ends_at"
    no_reason = await _assign(api, "gold", 30, reason="")
    assert no_reason.status_code == 422
    assert (await _assign(api, "gold", 30)).status_code == 200
    pos = await api.call(
        "PUT",
        f"/members/{api.shop.member_id}/tier-assignment",
        "pos",
        {"tier": "gold", "ends_on": "2099-01-01", "reason": "x"},
    )
    assert pos.status_code == 403
