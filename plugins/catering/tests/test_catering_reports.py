"""Catering reports on SQLite and PostgreSQL (set-based SQL): visit frequency, per-head spend and
favourite dishes, by store and by member; refunds count; refused where the pack is off."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import FISH, LATTE, coffees

from membership.plugin import LineInput
from membership.testing import make_member, make_program
from membership_catering.errors import CateringOff, CateringReportNotFound
from membership_catering.reports import run_report

RICE = LineInput("D007", 2, 200, "米饭", "主食")


async def _week(restaurant) -> dict:
    """A small week: the member comes three times (one meal refunded), a friend once elsewhere."""
    friend = await make_member(restaurant.program.id, "李娜")
    days = [dt.datetime.now(dt.UTC) - dt.timedelta(days=d) for d in (6, 4, 2)]
    first = await restaurant.buy(FISH, RICE, attributes={"party_size": "2", "meal_period": "dinner"}, now=days[0])
    await restaurant.buy(coffees(2), attributes={"party_size": "1", "meal_period": "breakfast"}, now=days[1])
    gone = await restaurant.buy(FISH, attributes={"party_size": "4", "meal_period": "lunch"}, now=days[2])
    await restaurant.refund(gone.id)
    await restaurant.buy(
        LATTE,
        FISH,
        member_id=friend,
        store_id=restaurant.other_store_id,
        attributes={"party_size": "3", "meal_period": "lunch"},  # said: the test must not hang on the clock
    )
    return {"friend": friend, "first": first}


async def test_visit_frequency_by_store_member_and_frequency(restaurant):
    await _week(restaurant)
    program_id = restaurant.program.id
    by_store = (await run_report(program_id, "catering_visits", {"by": "store"})).as_dicts()
    assert [(r["store"], r["visits"], r["members"]) for r in by_store] == [("SH01", 2, 1), ("HZ01", 1, 1)]
    assert by_store[0]["spend"] == 8_800 + 400 + 5_600 and by_store[0]["visits_per_member"] == 2.0
    by_member = (await run_report(program_id, "catering_visits", {"by": "member"})).as_dicts()
    assert [r["visits"] for r in by_member] == [2, 1]
    assert by_member[0]["days_between_visits"] == pytest.approx(2.0, abs=0.01)
    buckets = (await run_report(program_id, "catering_visits", {"by": "frequency"})).as_dicts()
    assert buckets == [{"visits": "1", "members": 1}, {"visits": "2-3", "members": 1}]


async def test_per_head_spend_by_store_meal_and_member(restaurant):
    await _week(restaurant)
    program_id = restaurant.program.id
    by_store = (await run_report(program_id, "catering_per_head", {"by": "store"})).as_dicts()
    hz, sh = by_store
    assert (sh["store"], sh["visits"], sh["diners"], sh["spend"], sh["per_head"]) == ("SH01", 2, 3, 14_800, 4_933)
    assert (hz["diners"], hz["per_head"]) == (3, (2_800 + 8_800) // 3)
    by_meal = {
        (r["meal_period"], r["service_mode"]): r
        for r in (await run_report(program_id, "catering_per_head", {"by": "meal"})).as_dicts()
    }
    assert by_meal["dinner", "dine_in"]["per_head"] == 9_200 // 2
    assert by_meal["breakfast", "dine_in"]["per_head"] == 5_600
    by_member = (await run_report(program_id, "catering_per_head", {"by": "member"})).as_dicts()
    assert by_member[0]["per_head"] >= by_member[-1]["per_head"]


async def test_favourite_dishes_by_store_and_by_member(restaurant):
    week = await _week(restaurant)
    program_id = restaurant.program.id
    by_store = (await run_report(program_id, "catering_dishes", {"by": "store"})).as_dicts()
    sh = [r for r in by_store if r["store"] == "SH01"]
    assert [(r["rank"], r["sku"], r["quantity"]) for r in sh] == [(1, "C002", 2), (2, "D007", 2), (3, "D001", 1)]
    mine = await run_report(program_id, "catering_dishes", {"by": "member", "member_id": str(restaurant.member_id)})
    assert [r["sku"] for r in mine.as_dicts()] == ["C002", "D007", "D001"]
    everyone = (await run_report(program_id, "catering_dishes", {"by": "member", "top": 1})).as_dicts()
    assert len(everyone) == 2 and everyone[0]["member_no"] != everyone[1]["member_no"]
    assert week["friend"]


async def test_months_limit_the_window_and_bad_parameters_are_refused(restaurant):
    from membership.plugin import ValidationError

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    await restaurant.buy(LATTE, now=old)
    assert (await run_report(restaurant.program.id, "catering_visits", {"months": 0})).rows
    with pytest.raises(ValidationError):
        await run_report(restaurant.program.id, "catering_visits", {"by": "table"})
    with pytest.raises(ValidationError):
        await run_report(restaurant.program.id, "catering_visits", {"months": -1})
    with pytest.raises(CateringReportNotFound):
        await run_report(restaurant.program.id, "nope", {})


async def test_reports_are_refused_where_the_pack_is_off(restaurant):
    other = await make_program(restaurant.merchant_id, "另一个方案")
    with pytest.raises(CateringOff):
        await run_report(other.id, "catering_visits", {})


async def test_the_reports_are_registered_for_the_consoles_report_pages(restaurant):
    from membership.plugins import hooks

    assert {"catering_visits", "catering_per_head", "catering_dishes"} <= set(hooks().reports())
