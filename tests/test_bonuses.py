"""Points without a purchase: sign-up bonus, referral reward to both members, daily sign-in with
its streak — each configured as a rule and each entry naming it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from membership.db import fetch
from membership.errors import ValidationError
from membership.ledger import bonuses
from membership.ledger import service as ledger
from membership.ledger.points_rules import create_rule
from membership.members import service as members
from tests.helpers import ledger_violations, make_shop

SIGN_UP = {"code": "welcome", "kind": "sign_up", "name": "注册礼", "params": {"points": 100}}
REFERRAL = {
    "code": "invite",
    "kind": "referral",
    "name": "推荐有礼",
    "params": {"referrer_points": 200, "referee_points": 50},
}
SIGN_IN = {
    "code": "daily",
    "kind": "daily_sign_in",
    "name": "每日签到",
    "params": {"points": 5, "streak_days": 3, "streak_bonus": 20},
}


async def test_sign_up_and_referral_reward_both_members_in_the_enrolment(any_db):
    shop = await make_shop()
    for rule in (SIGN_UP, REFERRAL):
        await create_rule(shop.program.id, rule)
    referrer = await members.get_member(shop.member_id)
    friend = await members.enrol(shop.program.id, {"name": "李雷"}, referrer=referrer.member_no)
    assert (await ledger.balances(friend.id)).points == 150  # welcome 100 + referred 50
    assert (await ledger.balances(shop.member_id)).points == 200
    rules = await fetch(
        "SELECT e.rule, e.amount FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.member_id = {} ORDER BY e.amount",
        friend.id,
    )
    assert [(r["rule"], r["amount"]) for r in rules] == [("invite", 50), ("welcome", 100)]
    stored = await fetch("SELECT referred_by FROM member WHERE id = {}", friend.id)
    assert stored == [{"referred_by": shop.member_id}]
    assert await ledger_violations() == []


async def test_an_unknown_referrer_refuses_the_enrolment_and_nothing_is_written(db):
    shop = await make_shop()
    await create_rule(shop.program.id, SIGN_UP)
    with pytest.raises(ValidationError) as refused:
        await members.enrol(shop.program.id, {"name": "韩梅梅"}, referrer="M-NOBODY")
    assert refused.value.params["field"] == "referrer" and "M-NOBODY" in str(refused.value.params["reason"])
    assert await fetch("SELECT name FROM member WHERE name = '韩梅梅'") == []


async def test_daily_sign_in_builds_a_streak_and_pays_its_bonus_once_a_day(any_db):
    shop = await make_shop()
    await create_rule(shop.program.id, SIGN_IN)
    day = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    results = [await bonuses.sign_in(shop.member_id, now=day + dt.timedelta(days=n)) for n in range(3)]
    assert [(r.streak, r.points) for r in results] == [(1, 5), (2, 5), (3, 25)]
    again = await bonuses.sign_in(shop.member_id, now=day + dt.timedelta(days=2, hours=5))
    assert again.already_signed_in and again.points == 0 and again.streak == 3
    after_a_gap = await bonuses.sign_in(shop.member_id, now=day + dt.timedelta(days=5))
    assert (after_a_gap.streak, after_a_gap.points) == (1, 5)
    assert (await ledger.balances(shop.member_id)).points == 40
    assert "连续签到 3 天奖励 20 积分" in results[2].awards[0].reason
    assert await ledger_violations() == []


async def test_concurrent_sign_ins_earn_once(any_db):
    shop = await make_shop()
    await create_rule(shop.program.id, SIGN_IN)
    now = dt.datetime.now(dt.UTC)
    results = await asyncio.gather(*(bonuses.sign_in(shop.member_id, now=now) for _ in range(4)))
    assert sorted(r.already_signed_in for r in results) == [False, True, True, True]
    assert (await ledger.balances(shop.member_id)).points == 5


async def test_sign_in_and_referral_through_the_api(api):
    await create_rule(api.shop.program.id, SIGN_IN)
    await create_rule(api.shop.program.id, REFERRAL)
    signed = await api.call("POST", f"/members/{api.shop.member_id}/sign-ins")
    assert signed.status_code == 200 and signed.json()["streak"] == 1 and signed.json()["points"] == 5
    referrer = (await api.call("GET", f"/members/{api.shop.member_id}", "read")).json()["member_no"]
    friend = await api.call("POST", "/members", "pos", {"name": "小明", "referrer": referrer})
    assert friend.status_code == 201, friend.text
    balances = (await api.call("GET", f"/members/{friend.json()['id']}/balances", "read")).json()
    assert balances["points"] == 50
    unknown = await api.call("POST", "/members", "pos", {"name": "小红", "referrer": "NOPE"}, lang="zh")
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["detail"]


async def test_sign_up_and_referral_coupons_come_with_the_enrolment_once(db):
    from membership.coupons import service as coupons

    shop = await make_shop()
    base = {"kind": "amount_off", "amount_off": 500, "valid_days": 30}
    await coupons.create_template(shop.program.id, {**base, "code": "hello", "name": "新人券", "issue_on": "sign_up"})
    await coupons.create_template(shop.program.id, {**base, "code": "thanks", "name": "推荐券", "issue_on": "referral"})
    referrer = await members.get_member(shop.member_id)
    friend = await members.enrol(shop.program.id, {"name": "李雷"}, referrer=referrer.member_no)
    held = await fetch(
        "SELECT t.code, c.member_id FROM coupon c JOIN coupon_template t ON t.id = c.template_id ORDER BY t.code"
    )
    assert [(h["code"], h["member_id"]) for h in held] == [("hello", friend.id), ("thanks", shop.member_id)]
