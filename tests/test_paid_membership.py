"""Paid membership: a fee buys a tier for a time — at once, renewed from the end, expired back to
the earned tier by the job (twice: nothing more), refunded pro rata (stored value back)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from membership.db import fetch, fetch_one
from membership.errors import PaidMembershipNotActive
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.org.service import update_settings
from membership.sales import service as sales
from membership.tiers import paid
from membership.tiers import service as tiers
from tests.helpers import ledger_violations, make_shop

TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 100},
    {"code": "gold", "name": "金卡", "threshold": 1000, "points_multiplier_pct": 150},
]
PLANS = [{"code": "prime", "name": "黄金年卡", "tier": "gold", "fee": 36_500, "days": 365}]
DAY = dt.timedelta(days=1)


def _no_progress(done: int, total: int) -> None:
    pass


async def _shop():
    shop = await make_shop()
    await tiers.configure(shop.program.id, TIERS, {"period_days": 365}, "test")
    await update_settings(shop.program.id, {"paid_plans": PLANS})
    return shop


async def test_a_fee_buys_the_tier_at_once_renews_from_the_end_and_expires_back(any_db):
    shop = await _shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 15_000)])
    first = await paid.buy(shop.member_id, "prime", "wechat_pay", shop.store_id)
    assert first.member_tier == "gold" and first.ends_at - first.starts_at == 365 * DAY
    renewal = await paid.buy(shop.member_id, "prime", "cash", shop.store_id)
    assert renewal.starts_at == first.ends_at and renewal.ends_at == first.ends_at + 365 * DAY
    member = await fetch_one("SELECT tier, tier_review_at FROM member WHERE id = {}", shop.member_id)
    assert member["tier"] == "gold" and member["tier_review_at"] == renewal.ends_at
    points = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)])
    assert points.points_earned == 150  # gold's ×1.5 while paid
    now = dt.datetime.now(dt.UTC)
    assert (await paid.expire_paid_memberships(now + 366 * DAY, _no_progress)).processed == 1
    assert (await fetch_one("SELECT tier FROM member WHERE id = {}", shop.member_id))["tier"] == "gold"  # renewal holds
    assert (await paid.expire_paid_memberships(now + 731 * DAY, _no_progress)).processed == 1
    assert (await paid.expire_paid_memberships(now + 731 * DAY, _no_progress)).processed == 0
    member = await fetch_one("SELECT tier FROM member WHERE id = {}", shop.member_id)
    assert member["tier"] is None  # growth earned two years ago is outside the window
    changes, _ = await tiers.history(shop.member_id)
    reasons = [h["reason"] for h in changes]
    assert reasons[0] == "paid_expired" and "paid" in reasons


async def test_a_refund_gives_back_the_unused_share_to_stored_value_and_the_earned_tier(any_db):
    shop = await _shop()
    await ledger.top_up(shop.member_id, 50_000, shop.store_id)
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 20_000)])
    bought = await paid.buy(shop.member_id, "prime", "stored_value", shop.store_id)
    assert (await ledger.balances(shop.member_id)).stored_value == 50_000 - 36_500
    await fetch(
        "UPDATE paid_membership SET starts_at = {}, ends_at = {} WHERE id = {}",
        bought.starts_at - 73 * DAY,
        bought.ends_at - 73 * DAY,
        bought.id,
    )  # 73 of 365 days used: 80% unused
    refunded = await paid.refund(bought.id, "admin", "顾客退卡")
    assert refunded.status == "refunded" and refunded.refunded_amount in (29_199, 29_200)
    assert (await ledger.balances(shop.member_id)).stored_value == 13_500 + refunded.refunded_amount
    assert refunded.member_tier == "silver"  # ¥200 spent: 200 growth ≥ silver's 100
    with pytest.raises(PaidMembershipNotActive):
        await paid.refund(bought.id, "admin")
    assert await ledger_violations() == []


async def test_a_member_already_above_the_plan_keeps_their_tier(db):
    shop = await make_shop()
    await tiers.configure(shop.program.id, TIERS, None, "test")
    await update_settings(shop.program.id, {"paid_plans": [{**PLANS[0], "code": "silver-card", "tier": "silver"}]})
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 150_000)])
    bought = await paid.buy(shop.member_id, "silver-card", "cash", shop.store_id)
    assert bought.member_tier == "gold"


async def test_a_fee_paid_partly_with_bonus_is_refunded_as_bonus_never_as_cash(any_db):
    shop = await _shop()
    plans = [{"code": "100-20", "name": "充100送20", "pay": 10_000, "bonus": 2_000}]
    await update_settings(shop.program.id, {"top_up_plans": plans})
    await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")
    await ledger.top_up(shop.member_id, 26_000, shop.store_id)  # 36,000 principal + 2,000 bonus
    bought = await paid.buy(shop.member_id, "prime", "stored_value", shop.store_id)
    spent = await ledger.balances(shop.member_id)
    assert (spent.stored_value, spent.stored_value_bonus) == (0, 1_500)  # the bonus went last: 500 of it
    refunded = await paid.refund(bought.id, "admin")  # at once: (nearly) the whole fee back
    back = await ledger.balances(shop.member_id)
    assert back.stored_value_bonus == 2_000  # the bonus spent came back as bonus
    assert back.stored_value == refunded.refunded_amount - 500
    cashed = await ledger.cash_out(shop.member_id, back.stored_value, shop.store_id)
    assert cashed.amount == refunded.refunded_amount - 500 and cashed.bonus_forfeited == 2_000
    assert await ledger_violations() == []


async def test_a_plans_end_leaves_a_tier_the_plan_did_not_give(db):
    shop = await _shop()
    await update_settings(
        shop.program.id, {"paid_plans": [*PLANS, {**PLANS[0], "code": "silver-card", "tier": "silver"}]}
    )
    gold = await paid.buy(shop.member_id, "prime", "cash", shop.store_id)
    silver = await paid.buy(shop.member_id, "silver-card", "cash", shop.store_id)
    assert gold.member_tier == silver.member_tier == "gold"
    refunded = await paid.refund(silver.id, "admin")
    assert refunded.member_tier == "gold"  # held through the other plan, not the refunded one
    await fetch("UPDATE paid_membership SET status = 'expired' WHERE id = {}", gold.id)
    await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", shop.member_id)
    silver_again = await paid.buy(shop.member_id, "silver-card", "cash", shop.store_id)
    now = dt.datetime.now(dt.UTC)
    assert (await paid.expire_paid_memberships(now + 366 * DAY, _no_progress)).processed == 1
    member = await fetch_one("SELECT tier FROM member WHERE id = {}", shop.member_id)
    assert silver_again.member_tier == "gold" and member["tier"] == "gold"  # its end does not take gold away


async def test_paid_memberships_through_the_api(api):
    program = api.shop.program.id
    assert (await api.call("PUT", f"/programs/{program}/tiers", "admin", {"tiers": TIERS})).status_code == 200
    bad = await api.call("PUT", f"/programs/{program}/paid-plans", "admin", [{**PLANS[0], "tier": "diamond"}])
    assert bad.status_code == 422 and "diamond" in bad.json()["detail"]
    assert (await api.call("PUT", f"/programs/{program}/paid-plans", "admin", PLANS)).status_code == 200
    path = f"/members/{api.shop.member_id}/paid-memberships"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    bought = await api.call("POST", path, "pos", {"plan": "prime", "method": "alipay"}, **key)
    again = await api.call("POST", path, "pos", {"plan": "prime", "method": "alipay"}, **key)
    assert bought.status_code == 201 and bought.json()["member_tier"] == "gold"
    assert again.json()["id"] == bought.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert (await api.call("GET", path, "read")).json()["total"] == 1
    unknown = await api.call("POST", path, "pos", {"plan": "nope"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "plan_not_found"
    refund_path = f"/paid-memberships/{bought.json()['id']}/refund"
    assert (await api.call("POST", refund_path, "pos", {"reason": "x"})).status_code == 403
    refunded = await api.call("POST", refund_path, "admin", {"reason": "顾客退卡"})
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
