"""Pass holders' benefits across venues on SQLite and PostgreSQL: more points at the restaurant (a
share of the base points), member prices (a discount) at the restaurant and the hotel, nothing for
members without a valid pass, family members included; points earned at one venue spent at another."""

from __future__ import annotations

import datetime as dt

import pytest
from tourism_park import DAY, MEAL, RIDE, ROOM

from membership.plugin import ValidationError, balances
from membership_tourism import passes, venues
from membership_tourism.errors import VenueNotFound


async def test_pass_holders_earn_more_and_pay_less_at_the_venues(park):
    plain = await park.buy(park.restaurant, MEAL)
    assert (plain.points_earned, plain.member_discount) == (100, 0)  # 1 point per yuan, no pass
    await park.sell()
    meal = await park.buy(park.restaurant, MEAL)
    assert meal.member_discount == 1_000 and meal.total == 9_000  # 9 折
    assert meal.points_earned == 90 + 9  # 1 point a yuan paid, and 10% of it more for pass holders
    room = await park.buy(park.hotel, ROOM)
    assert room.member_discount == 68_800 * 15 // 100 and room.points_earned == (68_800 - 10_320) // 100
    ride = await park.buy(park.office, RIDE)
    assert (ride.member_discount, ride.points_earned) == (0, 30)


async def test_family_members_count_as_pass_holders_and_an_ended_pass_gives_nothing(park):
    row = await park.sell(at=dt.datetime.now(dt.UTC) - 400 * DAY)  # ended 35 days ago
    son = await park.member("张小宝")
    await passes.add_family(row["id"], son, "child", "test")
    ended = await park.buy(park.restaurant, MEAL, member_id=son)
    assert ended.member_discount == 0
    back_then = await park.buy(park.restaurant, MEAL, member_id=son, now=dt.datetime.now(dt.UTC) - 100 * DAY)
    assert back_then.member_discount == 1_000 and back_then.points_earned == 99


async def test_points_earned_at_one_venue_are_redeemed_at_another(park):
    from membership.ledger.service import redeem_points

    await park.sell()
    await park.buy(park.hotel, ROOM)
    earned = (await balances(park.member_id)).points
    await redeem_points(park.member_id, 100, park.restaurant, "积分抵扣：明前龙井", actor="test")
    assert (await balances(park.member_id)).points == earned - 100


async def test_venues_are_the_merchants_stores(park):
    listed = {v["code"]: v for v in await venues.list_venues(park.program)}
    assert (listed["YQ03"]["format"], listed["YQ03"]["pass_points_pct"]) == ("dining", 10)
    with pytest.raises(VenueNotFound):
        await venues.save_venue(park.program.id, "XX99", {"format": "hotel"}, "test")
    with pytest.raises(ValidationError):
        await venues.save_venue(park.program.id, "YQ03", {"format": "spa"}, "test")
    with pytest.raises(ValidationError):
        await venues.save_venue(park.program.id, "YQ03", {"format": "dining", "pass_discount_pct": 95}, "test")
