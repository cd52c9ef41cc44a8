"""Every "at most N per member per period" rule holds when the requests of one member arrive at
once: 30 or more concurrent requests through the API, on SQLite and on a real PostgreSQL.

Before the member lock, PostgreSQL read the member's facts (points earned today, purchases
before) without one: 10 concurrent purchases earned 50,000 points under a 20,000 daily cap, and
20 concurrent first purchases granted the first-purchase bonus 3 to 10 times.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from membership.db import fetch, fetch_one
from tests.helpers import ledger_violations

N = 30
BASE = {"code": "base", "kind": "base_rate", "name": "每元 1 分", "params": {"points": 1, "per_amount": 100}}
CAP = {"code": "cap", "kind": "cap", "name": "每日上限", "params": {"per_day": 20_000}}
FIRST = {"code": "first", "kind": "first_purchase", "name": "首单礼", "params": {"points": 500}}
GIFT = {"code": "bday", "kind": "birthday", "name": "生日礼", "params": {"window": "month", "gift_points": 88}}
REFERRAL = {
    "code": "refer",
    "kind": "referral",
    "name": "推荐有礼",
    "params": {"referrer_points": 100, "referee_points": 50},
}
SIGN_IN = {
    "code": "sign-in",
    "kind": "daily_sign_in",
    "name": "每日签到",
    "params": {"points": 5, "streak_days": 7, "streak_bonus": 10},
}


async def _rules(api, *rules) -> None:
    for rule in rules:
        answer = await api.call("POST", f"/programs/{api.shop.program.id}/points-rules", "admin", rule)
        assert answer.status_code == 201, answer.text


async def _new_member(api, phone: str, **profile) -> str:
    answer = await api.call("POST", "/members", "pos", {"name": "赵敏", "phone": phone, **profile})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def _at_once(n: int, make):
    """``n`` requests started together; their answers."""
    return await asyncio.gather(*(make(i) for i in range(n)))


async def _points_by_rule(member_id: str) -> dict[str, int]:
    rows = await fetch(
        "SELECT e.rule, CAST(SUM(e.amount) AS BIGINT) AS points FROM ledger_entry e"
        " JOIN ledger_account a ON a.id = e.account_id WHERE a.member_id = {} AND a.kind = 'points' GROUP BY e.rule",
        member_id,
    )
    return {row["rule"]: int(row["points"]) for row in rows}


async def test_a_daily_cap_holds_for_concurrent_purchases(any_api):
    api = any_api
    await _rules(api, BASE, CAP)
    member = await _new_member(api, "13700000001")
    answers = await _at_once(N, lambda i: api.buy({**api.sale(500_000), "member_id": member}))
    assert {a.status_code for a in answers} == {201}, {a.text for a in answers if a.status_code != 201}
    assert sum(a.json()["points_earned"] for a in answers) == 20_000
    assert (await fetch_one("SELECT balance FROM ledger_account WHERE member_id = {} AND kind = 'points'", member))[
        "balance"
    ] == 20_000
    assert await ledger_violations() == []


async def test_a_first_purchase_bonus_and_a_birthday_gift_come_once(any_api):
    api = any_api
    await _rules(api, BASE, FIRST, GIFT)
    today = dt.datetime.now(api.shop.program.zone).date()
    member = await _new_member(api, "13700000002", birthday=today.replace(year=1990).isoformat())
    answers = await _at_once(N, lambda i: api.buy({**api.sale(1_000), "member_id": member}))
    assert {a.status_code for a in answers} == {201}
    earned = await _points_by_rule(member)
    assert earned == {"base": 10 * N, "first": 500, "bday": 88}, earned
    assert await ledger_violations() == []


async def test_a_referral_rewards_once_per_new_member_and_a_phone_joins_once(any_api):
    api = any_api
    await _rules(api, REFERRAL)
    referrer = await api.call("GET", f"/members/{api.shop.member_id}", "read")
    number = referrer.json()["member_no"]

    async def join(i: int):  # the same phone, N times at once, each naming the referrer
        body = {"name": "孙丽", "phone": "13700000003", "referrer": number}
        return await api.call("POST", "/members", "pos", body)

    answers = await _at_once(N, join)
    assert sorted(a.status_code for a in answers) == [201] + [409] * (N - 1), {a.text for a in answers}
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"duplicate_member"}
    assert (await _points_by_rule(str(api.shop.member_id))) == {"refer": 100}

    async def join_each(i: int):  # N different friends at once
        body = {"name": f"朋友{i}", "phone": f"1370000{i + 100:04d}", "referrer": number}
        return await api.call("POST", "/members", "pos", body)

    assert {a.status_code for a in await _at_once(N, join_each)} == {201}
    assert (await _points_by_rule(str(api.shop.member_id))) == {"refer": 100 * (N + 1)}
    assert await ledger_violations() == []


async def test_a_sign_in_earns_once_a_day(any_api):
    api = any_api
    await _rules(api, SIGN_IN)
    member = await _new_member(api, "13700000004")
    answers = await _at_once(N, lambda i: api.call("POST", f"/members/{member}/sign-ins", "pos"))
    assert {a.status_code for a in answers} <= {200, 201}, {a.text for a in answers}
    assert sorted(a.json()["points"] for a in answers) == [0] * (N - 1) + [5]
    assert (await _points_by_rule(member)) == {"sign-in": 5}


async def test_a_coupon_limit_per_member_holds_against_upgrades_and_issues_at_once(any_api):
    api = any_api
    program = api.shop.program.id
    tiers = [{"code": "silver", "name": "银卡", "threshold": 100}, {"code": "gold", "name": "金卡", "threshold": 200}]
    assert (await api.call("PUT", f"/programs/{program}/tiers", "admin", {"tiers": tiers})).status_code == 200
    template = {"code": "up", "name": "升级礼", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
    template |= {"issue_on": "tier_upgrade", "per_member_limit": 1}
    assert (await api.call("POST", f"/programs/{program}/coupon-templates", "admin", template)).status_code == 201
    member = await _new_member(api, "13700000005")
    issue = f"/programs/{program}/coupon-templates/up/issue"

    async def either(i: int):  # purchases that lift the member to silver and to gold, and issues by hand
        if i % 3 == 0:
            return await api.call("POST", issue, "admin", {"member_ids": [member]})
        return await api.buy({**api.sale(10_000 * (1 + i % 2)), "member_id": member})

    answers = await _at_once(N, either)
    assert {a.status_code for a in answers} == {201}, {a.text for a in answers if a.status_code != 201}
    held = await fetch("SELECT id FROM coupon WHERE member_id = {} AND state <> 'void'", member)
    assert len(held) == 1


async def test_concurrent_refunds_of_one_sale_give_back_once(any_api):
    api = any_api
    body = api.sale(**{"lines": [{"sku": "A", "name": "茶", "quantity": 3, "unit_price": 3_000}]})
    sale = (await api.buy(body)).json()

    async def refund(i: int):
        lines = None if i % 2 else [{"line_no": 1, "quantity": 2}]
        return await api.call(
            "POST", f"/transactions/{sale['id']}/refund", "pos", {} if lines is None else {"lines": lines}
        )

    answers = await _at_once(N, refund)
    done = [a.json() for a in answers if a.status_code == 201]
    assert sum(r["amount"] for r in done) <= 9_000
    row = await fetch_one("SELECT refunded_amount, status FROM sale WHERE id = {}", sale["id"])
    assert row["refunded_amount"] == sum(r["amount"] for r in done)
    line = await fetch_one("SELECT refunded_quantity FROM sale_line WHERE sale_id = {}", sale["id"])
    assert line["refunded_quantity"] <= 3
    assert {a.json()["code"] for a in answers if a.status_code != 201} <= {"sale_fully_refunded", "refund_exceeds_sale"}
    assert await ledger_violations() == []
