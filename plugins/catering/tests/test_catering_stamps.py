"""Stamp cards (集点卡) on SQLite and PostgreSQL: stamps per item, the reward coupon through the
kernel's coupon templates, carry-over, refunds, expiry, repeated and reordered events, concurrent
purchases of one member."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from conftest import FISH, LATTE, coffees

from membership.plugin import Event, fetch
from membership.testing import deliver_events
from membership_catering import sale_events, stamps


async def coupons_of(member_id) -> list[dict]:
    return await fetch(
        "SELECT c.code, c.occasion, c.state FROM coupon c WHERE c.member_id = {} ORDER BY c.issued_at, c.occasion",
        member_id,
    )


async def test_ten_coffees_give_a_free_latte_and_the_eleventh_starts_the_next_card(restaurant):
    for _ in range(9):
        await restaurant.buy(LATTE, FISH)
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"], card["rewards"]) == (9, 1, 0)  # the fish earns no stamp
    assert await coupons_of(restaurant.member_id) == []

    await restaurant.buy(LATTE)
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"], card["rewards"]) == (0, 2, 1)
    [coupon] = await coupons_of(restaurant.member_id)
    assert coupon["occasion"].startswith("catering-stamps:") and coupon["state"] == "issued"

    await restaurant.buy(LATTE)
    assert (await restaurant.cards())["coffee"]["stamps"] == 1
    kinds = [row["kind"] for row in await stamps.member_history(restaurant.member_id, 50)]
    assert kinds.count("earn") == 11 and kinds.count("reward") == 1


async def test_a_big_order_fills_two_cards_and_carries_the_rest(restaurant):
    await restaurant.buy(coffees(25))
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"], card["rewards"]) == (5, 3, 2)
    assert len(await coupons_of(restaurant.member_id)) == 2
    assert card["expires_at"] is not None  # the third card started with the carried stamps


async def test_a_refund_takes_the_refunded_items_stamps_back(restaurant):
    sale = await restaurant.buy(coffees(3), FISH)
    assert (await restaurant.cards())["coffee"]["stamps"] == 3
    await restaurant.refund(sale.id, {1: 1})
    assert (await restaurant.cards())["coffee"]["stamps"] == 2
    await restaurant.refund(sale.id, {2: 1})  # the fish: no stamp to take
    assert (await restaurant.cards())["coffee"]["stamps"] == 2
    await restaurant.refund(sale.id)
    assert (await restaurant.cards())["coffee"]["stamps"] == 0
    taken = [row for row in await stamps.member_history(restaurant.member_id) if row["kind"] == "refund"]
    assert sorted(row["stamps"] for row in taken) == [-2, -1]


async def test_stamps_already_rewarded_become_a_debt_the_next_stamps_repay(restaurant):
    sale = await restaurant.buy(coffees(10))
    assert (await restaurant.cards())["coffee"]["rewards"] == 1
    await restaurant.refund(sale.id, {1: 2})
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"]) == (-2, 2)  # the coupon was issued: 2 stamps owed
    await restaurant.buy(coffees(3))
    assert (await restaurant.cards())["coffee"]["stamps"] == 1


async def test_stamps_of_a_card_that_ran_out_are_not_taken_twice(restaurant):
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    old = await restaurant.buy(coffees(4), now=start)
    assert (await restaurant.cards(at=start))["coffee"]["stamps"] == 4
    assert (await restaurant.cards())["coffee"]["stamps"] == 0  # 90 days later the card ran out
    await restaurant.buy(coffees(2))
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"]) == (2, 2)
    expired = [row for row in await stamps.member_history(restaurant.member_id) if row["kind"] == "expire"]
    assert [row["stamps"] for row in expired] == [-4]
    await restaurant.refund(old.id)
    assert (await restaurant.cards())["coffee"]["stamps"] == 2  # those 4 were lost already


async def test_the_daily_job_ends_cards_that_ran_out(restaurant, clock):
    from membership.plugin import get_program  # noqa: F401 - the job reads programs

    clock.set(dt.datetime.now(dt.UTC) - dt.timedelta(days=95))
    await restaurant.buy(coffees(3), now=clock.now)
    clock.advance(days=95)
    outcome = await clock.run_job("catering-stamp-cards")
    assert outcome.result.processed == 1, outcome
    again = await clock.run_job("catering-stamp-cards")
    assert again.result.processed == 0
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["card_no"]) == (0, 2)


async def test_a_reward_that_cannot_be_issued_waits_and_the_job_issues_it_later(restaurant, clock):
    from membership.coupons.service import create_template, retire_template

    await retire_template(restaurant.program.id, "free-latte", "test")
    await restaurant.buy(coffees(12))
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["reward_waiting"], card["rewards"]) == (12, True, 0)
    assert await coupons_of(restaurant.member_id) == []
    await create_template(restaurant.program.id, {**REWARD_MOCHA}, "test")
    await stamps.save_scheme(restaurant.program.id, "coffee", {**COFFEE_TERMS, "reward_template": "free-mocha"}, "test")
    await clock.run_job("catering-stamp-cards")
    card = (await restaurant.cards())["coffee"]
    assert (card["stamps"], card["reward_waiting"], card["rewards"]) == (2, False, 1)
    assert len(await coupons_of(restaurant.member_id)) == 1


REWARD_MOCHA = {"code": "free-mocha", "name": "免费摩卡", "kind": "free_item", "free_sku": "C005", "valid_days": 30}
COFFEE_TERMS = {"name": "咖啡集点卡", "categories": ["咖啡"], "stamps_needed": 10, "valid_days": 90}


async def test_an_event_delivered_twice_or_out_of_order_stamps_once(restaurant):
    sale = await restaurant.buy(coffees(4), deliver=False)
    from membership.sales.service import refund

    await refund(sale.id, {1: 1})  # the refund's event may arrive first
    purchase = Event("purchase.recorded", restaurant.program.id, restaurant.member_id, _data(sale, restaurant))
    refunded = Event(
        "sale.refunded", restaurant.program.id, restaurant.member_id, {"sale_id": str(sale.id), "amount": 0, "debt": 0}
    )
    assert await sale_events.handle(refunded) is True
    assert await sale_events.handle(purchase) is True
    assert await sale_events.handle(purchase) is False  # the same event again: skipped
    await deliver_events()  # the outbox's own deliveries of both events: nothing more
    assert (await restaurant.cards())["coffee"]["stamps"] == 3
    history = await stamps.member_history(restaurant.member_id)
    assert [row["kind"] for row in history].count("earn") == 1  # once, whichever event came first
    assert sum(row["stamps"] for row in history) == 3


def _data(sale, restaurant) -> dict:
    return {
        "sale_id": str(sale.id),
        "store_id": str(restaurant.store_id),
        "total": sale.total,
        "discount": 0,
        "points_earned": sale.points_earned,
    }


async def test_concurrent_purchases_of_one_member_never_stamp_twice_or_skip_a_reward(restaurant):
    sales = await asyncio.gather(*(restaurant.buy(coffees(3), deliver=False) for _ in range(8)))
    events = [
        Event("purchase.recorded", restaurant.program.id, restaurant.member_id, _data(sale, restaurant))
        for sale in sales
    ]
    await asyncio.gather(*(sale_events.handle(event) for event in events), deliver_events())
    card = (await restaurant.cards())["coffee"]
    assert (card["rewards"], card["stamps"], card["card_no"]) == (2, 4, 3)  # 24 stamps: two cards and 4
    assert len(await coupons_of(restaurant.member_id)) == 2


async def test_sales_before_the_card_started_or_after_it_was_retired_earn_nothing(restaurant):
    program_id, latte = restaurant.program.id, {**COFFEE_TERMS, "reward_template": "free-latte"}
    await stamps.save_scheme(program_id, "coffee", {**latte, "starts_on": "2099-01-01"}, "test")
    await restaurant.buy(coffees(2))
    assert (await restaurant.cards())["coffee"]["stamps"] == 0
    await stamps.save_scheme(program_id, "coffee", {**latte, "starts_on": "2020-01-01"}, "test")
    sale = await restaurant.buy(coffees(2))
    await stamps.save_scheme(program_id, "coffee", {**latte, "active": False}, "test")
    await restaurant.buy(coffees(2))
    assert (await restaurant.cards())["coffee"]["stamps"] == 2  # still listed: the member holds stamps
    await restaurant.refund(sale.id)  # a retired card still gives back what its sales earned
    assert "coffee" not in await restaurant.cards()
    assert [row["stamps"] for row in await fetch("SELECT stamps FROM catering_stamp_card")] == [0]


async def test_a_scheme_needs_what_earns_and_an_active_reward_template(restaurant):
    from membership.plugin import ValidationError

    with pytest.raises(ValidationError) as nothing:
        await stamps.save_scheme(restaurant.program.id, "tea", {"name": "茶", "reward_template": "free-latte"}, "t")
    assert "skus" in nothing.value.detail("en")
    with pytest.raises(ValidationError) as unknown:
        await stamps.save_scheme(
            restaurant.program.id, "tea", {"name": "茶", "skus": ["T001"], "reward_template": "nope"}, "t"
        )
    assert "优惠券模板" in unknown.value.detail("zh")


async def test_a_program_without_the_pack_gets_no_stamps(restaurant):
    from membership.testing import enable_plugin, make_member

    program = await enable_plugin(restaurant.program.id, "catering", enabled=False)
    assert "catering" not in program.plugins
    other = await make_member(program.id)
    await restaurant.buy(coffees(3), member_id=other)
    assert (await restaurant.cards(other))["coffee"]["stamps"] == 0
