"""Dining rules and meals on SQLite and PostgreSQL: meal periods (the till's word or the local
time), service modes, party size and per-head spend in points rules; the meal recorded per sale."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from conftest import FISH, LATTE

from membership.plugin import LineInput, ValidationError, fetch
from membership.testing import enable_plugin
from membership_catering import dining_rules
from membership_catering.dining import dining_of, meal_period_at
from membership_catering.settings import CateringSettings

DINNER_DINE_IN = {
    "name": "晚市堂食双倍积分",
    "meal_periods": ["dinner"],
    "service_modes": ["dine_in"],
    "multiplier_pct": 200,
}
PER_HEAD = {"name": "人均满 150 元加送 50 积分", "min_per_head": 15_000, "bonus_points": 50}
BIG_TABLE = {"name": "6 人以上加送 100 积分", "min_party_size": 6, "bonus_points": 100}
TABLE = LineInput("D001", 1, 40_000, "剁椒鱼头宴", "热菜")  # 400 yuan: 400 base points
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0) -> dt.datetime:
    """Yesterday at ``hour:minute`` in Shanghai, as UTC."""
    day = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI).astimezone(dt.UTC)


def by_rule(sale) -> dict[str, int]:
    return {award.rule: award.points for award in sale.awards}


async def test_dinner_dine_in_doubles_the_base_points(restaurant):
    await dining_rules.save_rule(restaurant.program.id, "dinner", DINNER_DINE_IN, "test")
    dinner = await restaurant.buy(TABLE, attributes={"meal_period": "dinner", "service_mode": "dine_in"})
    assert by_rule(dinner) == {"base": 400, "catering:dinner": 400} and dinner.points_earned == 800
    takeaway = await restaurant.buy(TABLE, attributes={"meal_period": "dinner", "service_mode": "takeaway"})
    assert takeaway.points_earned == 400
    lunch = await restaurant.buy(TABLE, attributes={"meal_period": "lunch", "service_mode": "dine_in"})
    assert lunch.points_earned == 400
    why = next(a.reason for a in dinner.awards if a.rule == "catering:dinner")
    assert "晚市堂食双倍积分" in why and "晚餐" in why and "×2" in why


async def test_without_the_tills_word_the_local_time_and_the_default_mode_decide(restaurant):
    await dining_rules.save_rule(restaurant.program.id, "dinner", DINNER_DINE_IN, "test")
    evening = await restaurant.buy(TABLE, now=local(19, 30))  # 19:30 in Shanghai: 晚餐, 堂食 by default
    assert evening.points_earned == 800
    morning = await restaurant.buy(TABLE, now=local(8))
    assert morning.points_earned == 400
    program = await enable_plugin(restaurant.program.id, "catering", {"default_service_mode": "takeaway"})
    restaurant.program = program
    assert (await restaurant.buy(TABLE, now=local(19, 30))).points_earned == 400


async def test_per_head_spend_and_party_size_give_bonus_points(restaurant):
    program_id = restaurant.program.id
    await dining_rules.save_rule(program_id, "per-head", PER_HEAD, "test")
    await dining_rules.save_rule(program_id, "big-table", BIG_TABLE, "test")
    two = await restaurant.buy(TABLE, attributes={"party_size": "2"})  # 200 yuan a head
    assert by_rule(two) == {"base": 400, "catering:per-head": 50}
    four = await restaurant.buy(TABLE, attributes={"party_size": "4"})  # 100 yuan a head
    assert by_rule(four) == {"base": 400}
    unknown = await restaurant.buy(TABLE)  # no party size: per head unknown
    assert by_rule(unknown) == {"base": 400}
    big = await restaurant.buy(LineInput("D009", 1, 120_000, "宴席", "热菜"), attributes={"party_size": "6"})
    assert by_rule(big) == {"base": 1200, "catering:per-head": 50, "catering:big-table": 100}


async def test_the_highest_multiplier_counts_and_multiplies_the_programs_base_rule(restaurant):
    from membership.ledger.points_rules import create_rule

    program_id = restaurant.program.id
    await create_rule(
        program_id,
        {"code": "per-yuan", "kind": "base_rate", "name": "每元 2 积分", "params": {"points": 2, "per_amount": 100}},
        "test",
    )
    await dining_rules.save_rule(program_id, "dinner", DINNER_DINE_IN, "test")
    await dining_rules.save_rule(
        program_id, "vip-night", {**DINNER_DINE_IN, "name": "晚市三倍", "multiplier_pct": 300}, "t"
    )
    sale = await restaurant.buy(TABLE, attributes={"meal_period": "dinner"})
    assert by_rule(sale) == {"per-yuan": 800, "catering:vip-night": 1600}


async def test_a_simulation_shows_the_dining_points(restaurant):
    from membership.sales.service import simulate_purchase

    await dining_rules.save_rule(restaurant.program.id, "dinner", DINNER_DINE_IN, "test")
    attributes = {"meal_period": "dinner", "service_mode": "dine_in", "party_size": "3"}
    simulated = await simulate_purchase(
        restaurant.program.id, restaurant.store_id, restaurant.member_id, [TABLE], attributes=attributes
    )
    assert {a.rule: a.points for a in simulated.awards} == {"base": 400, "catering:dinner": 400}


async def test_a_retired_rule_and_a_program_without_the_pack_give_nothing_extra(restaurant):
    await dining_rules.save_rule(restaurant.program.id, "dinner", {**DINNER_DINE_IN, "active": False}, "test")
    assert (await restaurant.buy(TABLE, attributes={"meal_period": "dinner"})).points_earned == 400
    await dining_rules.save_rule(restaurant.program.id, "dinner", DINNER_DINE_IN, "test")
    restaurant.program = await enable_plugin(restaurant.program.id, "catering", enabled=False)
    assert (await restaurant.buy(TABLE, attributes={"meal_period": "dinner"})).points_earned == 400


async def test_rules_are_checked(restaurant):
    with pytest.raises(ValidationError) as nothing:
        await dining_rules.save_rule(restaurant.program.id, "x", {"name": "空规则"}, "test")
    assert "积分倍数" in nothing.value.detail("zh")
    with pytest.raises(ValidationError) as meal:
        await dining_rules.save_rule(restaurant.program.id, "x", {**DINNER_DINE_IN, "meal_periods": ["brunch"]}, "t")
    assert "meal_periods" in meal.value.detail("en")
    with pytest.raises(ValidationError):
        await dining_rules.save_rule(restaurant.program.id, "bad code!", DINNER_DINE_IN, "test")


async def test_each_sale_is_recorded_as_a_meal_with_its_per_head_spend(restaurant):
    sale = await restaurant.buy(TABLE, FISH, attributes={"service_mode": "dine_in", "party_size": "4"}, now=local(12))
    await restaurant.buy(LATTE, attributes={"meal_period": "afternoon", "service_mode": "takeout"})
    rows = await fetch("SELECT * FROM catering_visit ORDER BY occurred_at")
    lunch, tea = rows
    assert (lunch["meal_period"], lunch["service_mode"], lunch["party_size"]) == ("lunch", "dine_in", 4)
    assert lunch["total"] == sale.total == 48_800 and lunch["per_head"] == 12_200
    assert (tea["meal_period"], tea["service_mode"], tea["party_size"], tea["per_head"]) == (
        "afternoon_tea",
        "takeaway",
        None,
        None,
    )


def test_meal_periods_follow_the_settings():
    settings = CateringSettings()
    assert [meal_period_at(settings, dt.time(h)) for h in (3, 6, 11, 15, 18, 22)] == [
        "late_night",
        "breakfast",
        "lunch",
        "afternoon_tea",
        "dinner",
        "late_night",
    ]
    import msgspec

    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"lunch_from": "05:00"}, CateringSettings)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"dinner_from": "25:00"}, CateringSettings)


async def test_the_settings_form_refuses_meals_out_of_order(restaurant):
    with pytest.raises(ValidationError) as refused:
        await enable_plugin(restaurant.program.id, "catering", {"lunch_from": "05:00"})
    assert "依次递增" in refused.value.detail("zh")


def test_party_size_must_be_a_whole_number_of_diners():
    from membership.plugin import ProgramConfig  # noqa: F401

    class Program:
        zone = SHANGHAI

    at = local(12)
    for said, party in (("4", 4), ("0", None), ("-2", None), ("two", None), ("1000", None)):
        assert dining_of(Program, CateringSettings(), {"party_size": said}, at, 1_000).party_size == party
