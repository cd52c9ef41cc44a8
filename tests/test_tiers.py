"""Tiers over time: up at once, down only at the period's end (after grace), one tier or
recalculated, over a rolling window; history and events; the review job idempotent; a pack's
own tier policy through the hook."""

from __future__ import annotations

import datetime as dt

import pytest

from membership import hookimpl
from membership.coupons import service as coupons
from membership.db import fetch, fetch_one
from membership.errors import ValidationError
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org.service import update_settings
from membership.sales import service as sales
from membership.tiers import service as tiers
from tests.helpers import make_shop

TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 100, "points_multiplier_pct": 120},
    {"code": "gold", "name": "金卡", "threshold": 1000, "points_multiplier_pct": 150, "discount_pct": 5},
]
DAY = dt.timedelta(days=1)


def _no_progress(done: int, total: int) -> None:
    pass


async def _shop(downgrade: str = "one_down"):
    shop = await make_shop()
    policy = {"metric": "growth", "window_days": 365, "period_days": 365, "grace_days": 30, "downgrade": downgrade}
    await tiers.configure(shop.program.id, TIERS, policy, "test")
    return shop


async def _buy(shop, yuan: int):
    return await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, yuan * 100)])


async def _history(member_id) -> list[dict]:
    """The first page of the member's tier changes, newest first."""
    changes, _ = await tiers.history(member_id)
    return changes


async def _tier(shop) -> tuple[str | None, dt.datetime | None]:
    row = await fetch_one("SELECT tier, tier_review_at FROM member WHERE id = {}", shop.member_id)
    return row["tier"], row["tier_review_at"]


@pytest.mark.parametrize(("downgrade", "after_first_review"), [("one_down", "silver"), ("recalculate", None)])
async def test_up_at_once_and_down_only_after_the_period_and_grace(any_db, downgrade, after_first_review):
    shop = await _shop(downgrade)
    now = dt.datetime.now(dt.UTC)
    bought = await _buy(shop, 1200)
    assert bought.tier == "gold"
    tier, review_at = await _tier(shop)
    assert tier == "gold" and abs(review_at - (now + 395 * DAY)) < dt.timedelta(minutes=1)
    nobody = await tiers.review_tiers(now + 394 * DAY, _no_progress)
    assert nobody.processed == 0 and (await _tier(shop))[0] == "gold"  # still in its period + grace
    first = await tiers.review_tiers(now + 396 * DAY, _no_progress)
    assert first.processed == 1 and (await _tier(shop))[0] == after_first_review
    assert first.summary.endswith("1 members' tiers reviewed: 0 kept, 0 up, 1 down")
    assert (await tiers.review_tiers(now + 396 * DAY, _no_progress)).processed == 0  # twice: nothing
    history = [(h["from_tier"], h["to_tier"], h["reason"]) for h in await _history(shop.member_id)]
    assert history == [("gold", after_first_review, "downgrade"), (None, "gold", "upgrade")]
    older, total = await tiers.history(shop.member_id, page=2, page_size=1)
    assert total == 2 and [h["reason"] for h in older] == ["upgrade"]
    assert await tiers.history(shop.member_id, page=5, page_size=1) == ([], 2)  # past the last page
    with pytest.raises(ValidationError):
        await tiers.history(shop.member_id, page=0)


async def test_a_review_in_small_chunks_reviews_every_member_due_once(any_db):
    shop = await _shop()
    now = dt.datetime.now(dt.UTC)
    ids = []
    for i in range(5):
        member = await members.enrol(shop.program.id, {"name": f"会员{i}", "phone": f"1391234{i:04d}"})
        await sales.record_purchase(shop.program.id, shop.store_id, member.id, [LineInput("A", 1, 120_000)])
        ids.append(member.id)
    await fetch("UPDATE member SET tier_review_at = {} WHERE id = {}", now + 500 * DAY, ids[2])  # not due yet
    seen = []
    result = await tiers.review_tiers(now + 396 * DAY, lambda done, total: seen.append((done, total)), chunk_size=2)
    assert result.processed == 4 and seen[0] == (0, 4) and seen[-1] == (4, 4)
    downs = await fetch("SELECT member_id FROM tier_change WHERE reason = 'downgrade'")
    assert sorted(row["member_id"] for row in downs) == sorted(ids[:2] + ids[3:])
    assert (await tiers.review_tiers(now + 396 * DAY, _no_progress, chunk_size=2)).processed == 0


async def test_a_member_who_still_qualifies_keeps_the_tier_for_another_period(any_db):
    shop = await _shop()
    now = dt.datetime.now(dt.UTC)
    await _buy(shop, 1200)
    later = now + 396 * DAY
    await fetch("UPDATE ledger_entry SET created_at = {}", later - 10 * DAY)  # earned inside the window
    assert (await tiers.review_tiers(later, _no_progress)).processed == 1
    tier, review_at = await _tier(shop)
    assert tier == "gold" and abs(review_at - (later + 395 * DAY)) < dt.timedelta(minutes=1)
    assert (await _history(shop.member_id))[0]["reason"] == "renewal"


async def test_the_window_rolls_growth_older_than_it_does_not_count(any_db):
    shop = await _shop()
    now = dt.datetime.now(dt.UTC)
    await _buy(shop, 1200)
    await fetch("UPDATE ledger_entry SET created_at = {}", now - 366 * DAY)  # just outside a year
    await fetch("UPDATE member SET tier = NULL, tier_review_at = NULL")
    assert (await _buy(shop, 50)).tier is None  # 50 in the window: below silver's 100
    assert (await _buy(shop, 60)).tier == "silver"  # 110 in the window


async def test_tiers_are_configured_through_the_api_and_bad_ones_refused(api):
    path = f"/programs/{api.shop.program.id}/tiers"
    config = {"tiers": TIERS, "policy": {"metric": "spend", "window_days": 180}}
    answer = await api.call("PUT", path, "admin", config)
    assert answer.status_code == 200, answer.text
    got = (await api.call("GET", path, "read")).json()
    assert [t["code"] for t in got["tiers"]] == ["silver", "gold"] and got["policy"]["metric"] == "spend"
    assert got["policy"]["period_days"] == 365
    same = await api.call("PUT", path, "admin", {"tiers": [TIERS[0], {**TIERS[1], "threshold": 100}]})
    assert same.status_code == 422 and "threshold" in same.json()["detail"]
    assert (await api.call("PUT", path, "pos", config)).status_code == 403
    await api.buy(api.sale(150_000))  # ¥1,500 spent: gold by spend (threshold 1000 fen = ¥10)
    history = (await api.call("GET", f"/members/{api.shop.member_id}/tier-history", "read")).json()
    assert history["items"][0]["to_tier"] == "gold" and history["items"][0]["reason"] == "upgrade"
    assert (history["page"], history["page_size"], history["total"]) == (1, 50, 1)
    for query in ("page_size=201", "page=0"):
        refused = await api.call("GET", f"/members/{api.shop.member_id}/tier-history?{query}", "read")
        assert refused.status_code == 422, query
    audit = await fetch("SELECT action FROM audit_log WHERE action = 'program.settings'")
    assert len(audit) == 1


async def test_a_packs_tier_policy_replaces_the_built_in_one(any_db, register_plugin):
    class PrivateBanking:
        @hookimpl(tryfirst=True)
        def membership_tier_for(self, program, member_id, metrics):
            return "private" if metrics.spend >= 1_000_000 else None

    register_plugin(PrivateBanking(), name="private-banking")
    shop = await make_shop()
    assert (await _buy(shop, 5_000)).tier is None
    assert (await _buy(shop, 6_000)).tier == "private"  # ¥11,000 ≥ ¥10,000


async def test_the_review_asks_a_packs_per_member_policy_member_by_member(any_db, register_plugin):
    asked = []

    class Retail:  # decides member by member: the built-in batch answer must not replace it
        @hookimpl(tryfirst=True)
        def membership_tier_for(self, program, member_id, metrics):
            asked.append(member_id)
            return "gold"

    shop = await _shop()
    now = dt.datetime.now(dt.UTC)
    assert (await _buy(shop, 200)).tier == "silver"
    register_plugin(Retail(), name="retail-tiers")
    assert (await tiers.review_tiers(now + 396 * DAY, _no_progress)).processed == 1
    assert asked == [shop.member_id] and (await _tier(shop))[0] == "gold"


async def test_hook_tiers_for(any_db, register_plugin):
    """A pack may decide a whole chunk of the review in one call."""
    calls = []

    class Bank:
        @hookimpl(tryfirst=True)
        def membership_tiers_for(self, program, metrics):
            calls.append(sorted(metrics))
            return dict.fromkeys(metrics)  # no tier for anybody

    shop = await _shop()
    second = await members.enrol(shop.program.id, {"name": "李娜", "phone": "13912345678"}, store_id=shop.store_id)
    now = dt.datetime.now(dt.UTC)
    await _buy(shop, 1200)
    await sales.record_purchase(shop.program.id, shop.store_id, second.id, [LineInput("A", 1, 120_000)])
    register_plugin(Bank(), name="bank-tiers")
    assert (await tiers.review_tiers(now + 396 * DAY, _no_progress, chunk_size=100)).processed == 2
    assert calls == [sorted([shop.member_id, second.id])]
    # one_down: the pack's answer (no tier) takes gold down one step
    assert (await _tier(shop))[0] == "silver"


async def test_a_batch_policy_that_leaves_members_out_is_refused(any_db, register_plugin):
    from membership.errors import PluginError

    class Forgetful:
        @hookimpl(tryfirst=True)
        def membership_tiers_for(self, program, metrics):
            return {}

    shop = await _shop()
    now = dt.datetime.now(dt.UTC)
    await _buy(shop, 1200)
    register_plugin(Forgetful(), name="forgetful-tiers")
    with pytest.raises(PluginError, match="no tier"):
        await tiers.review_tiers(now + 396 * DAY, _no_progress)
    assert (await _tier(shop))[0] == "gold"  # the chunk rolled back
    assert [h["reason"] for h in await _history(shop.member_id)] == ["upgrade"]


async def test_reaching_a_tier_issues_its_upgrade_coupons_once(any_db):
    from membership.coupons import service as coupons

    shop = await make_shop()
    base = {"kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
    await coupons.create_template(shop.program.id, {**base, "code": "gold-gift", "name": "金卡礼"})
    gold = {**TIERS[1], "upgrade_coupons": ["gold-gift"]}
    await tiers.configure(shop.program.id, [TIERS[0], gold], None, "test")
    await _buy(shop, 500)  # silver
    assert await fetch("SELECT id FROM coupon") == []
    await _buy(shop, 600)  # gold
    await _buy(shop, 100)  # still gold: nothing more
    assert len(await fetch("SELECT id FROM coupon WHERE member_id = {}", shop.member_id)) == 1


async def test_tiers_in_use_are_not_removed_and_upgrade_coupons_must_exist(db):
    shop = await _shop()
    assert (await _buy(shop, 200)).tier == "silver"
    only_gold = [TIERS[1]]
    with pytest.raises(ValidationError, match="'silver' \\(1\\)"):
        await tiers.configure(shop.program.id, only_gold, None, "test")
    await update_settings(
        shop.program.id, {"paid_plans": [{"code": "g", "name": "年卡", "tier": "gold", "fee": 1, "days": 9}]}
    )
    with pytest.raises(ValidationError, match="paid plan 'g' sells tier 'gold'"):
        await tiers.configure(shop.program.id, [TIERS[0]], None, "test")
    with pytest.raises(ValidationError, match="no coupon template 'welcome'"):
        await tiers.configure(shop.program.id, [TIERS[0], {**TIERS[1], "upgrade_coupons": ["welcome"]}], None, "test")
    with pytest.raises(ValidationError, match="a list of tiers"):
        await tiers.configure(shop.program.id, 5, None, "test")  # type: ignore[arg-type]
    renamed = [{**TIERS[0], "name": "白银"}, TIERS[1], {"code": "black", "name": "黑卡", "threshold": 9000}]
    assert [t.code for t in (await tiers.configure(shop.program.id, renamed, None, "test")).tiers][-1] == "black"


async def test_a_refund_takes_back_the_tier_its_purchase_gave_and_the_unused_welcome_coupon(any_db):
    shop = await _shop()
    template = {"code": "gold", "name": "金卡满100减10", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
    await coupons.create_template(shop.program.id, {**template, "issue_on": "tier_upgrade", "tier": "gold"})
    await _buy(shop, 200)
    assert (await _tier(shop))[0] == "silver"
    big = await _buy(shop, 1200)
    assert big.tier == "gold"
    welcome = await fetch("SELECT state FROM coupon WHERE member_id = {}", shop.member_id)
    assert [row["state"] for row in welcome] == ["issued"]
    await sales.refund(big.id)
    assert (await _tier(shop))[0] == "silver"  # the tier before the upgrade (200 growth still qualifies)
    assert [row["state"] for row in await fetch("SELECT state FROM coupon WHERE member_id = {}", shop.member_id)] == [
        "void"
    ]
    assert (await _history(shop.member_id))[0]["reason"] == "refund"
    renewed = await _buy(shop, 1200)
    await fetch("UPDATE tier_change SET reason = 'renewal' WHERE member_id = {}", shop.member_id)  # a review kept it
    await sales.refund(renewed.id)
    assert (await _tier(shop))[0] == "gold"  # a tier a review renewed waits for the next review


async def test_a_tier_that_asks_nothing_is_held_from_enrolment(db):
    shop = await _shop()
    await tiers.configure(shop.program.id, [{"code": "regular", "name": "普通会员", "threshold": 0}, *TIERS], None, "t")
    member = await members.enrol(shop.program.id, {"name": "新会员"})
    row = await fetch_one("SELECT tier FROM member WHERE id = {}", member.id)
    assert row["tier"] == "regular" and (await _history(member.id))[0]["to_tier"] == "regular"
