"""Tourism reports on SQLite and PostgreSQL (set-based SQL): revisit rate, secondary spending on
the day of an entry (not at the ticket office, refunds out), entries by hour, gate and day, pass
renewals, and spending across venues; refused where the pack is off."""

from __future__ import annotations

import datetime as dt

import pytest
from tourism_park import DAY, MEAL, RIDE, ROOM, at_local

from membership.testing import enable_plugin
from membership_tourism import passes
from membership_tourism.errors import TourismOff, TourismReportNotFound
from membership_tourism.reports import run_report


async def _season(park) -> dict:
    """Two months of a scenic area: 张伟 (annual pass) comes twice, his wife once, a summer-pass
    holder once; what they spent those days; one refused try."""
    now = dt.datetime.now(dt.UTC)
    zone_today = now.astimezone(park.program.zone).date()
    first_day, second_day = zone_today - 60 * DAY, zone_today - 20 * DAY
    row = await park.sell(at=now - 100 * DAY)
    wife = await park.member("李娜")
    await passes.add_family(row["id"], wife, "spouse", "test")
    summer_holder = await park.member("暑期游客")
    summer = await park.sell(summer_holder, "summer-pass", at=now - 50 * DAY)
    tries = [
        (row, park.member_id, at_local(park.program, first_day, 10), "S1"),
        (row, park.member_id, at_local(park.program, second_day, 9), "S1"),
        (row, wife, at_local(park.program, second_day, 9, 5), "N1"),
        (row, park.member_id, at_local(park.program, second_day, 9, 10), "N1"),  # refused: re-entry too soon
        (summer, summer_holder, at_local(park.program, second_day, 14), "S1"),
    ]
    for pass_row, who, at, gate in tries:
        await park.enter("pass_qr", await park.code(pass_row, who, at), at, gate=gate)
    await park.buy(park.restaurant, MEAL, now=at_local(park.program, first_day, 12))  # secondary: 90.00
    await park.buy(park.office, RIDE, now=at_local(park.program, second_day, 10))  # tickets: not secondary
    gone = await park.buy(park.hotel, ROOM, member_id=wife, now=at_local(park.program, second_day, 15))
    from membership.sales.service import refund

    await refund(gone.id, now=at_local(park.program, second_day, 16))
    await park.buy(park.hotel, ROOM, member_id=wife, now=at_local(park.program, second_day + DAY, 9))  # next day
    return {"wife": wife, "summer_holder": summer_holder}


async def test_revisit_rate_overall_by_plan_and_by_month(park):
    await _season(park)
    program_id = park.program.id
    [total] = (await run_report(program_id, "tourism_revisits", {"by": "total"})).as_dicts()
    assert (total["visitors"], total["visit_days"], total["repeat_visitors"], total["revisit_rate"]) == (3, 4, 1, 33.3)
    by_plan = {r["plan"]: r for r in (await run_report(program_id, "tourism_revisits", {"by": "plan"})).as_dicts()}
    assert (by_plan["year-pass"]["visitors"], by_plan["year-pass"]["repeat_visitors"]) == (2, 1)
    assert by_plan["summer-pass"]["revisit_rate"] == 0.0
    months = (await run_report(program_id, "tourism_revisits", {"by": "month"})).as_dicts()
    assert sum(r["visit_days"] for r in months) == 4 and len(months) == 2
    assert months[-1]["visitors"] == 3 and months[-1]["returning_visitors"] == 1  # 张伟 came a month before


async def test_secondary_spending_on_the_day_of_an_entry(park):
    await _season(park)
    program_id = park.program.id
    months = (await run_report(program_id, "tourism_secondary", {"by": "month"})).as_dicts()
    assert sum(r["visits"] for r in months) == 4 and sum(r["spending_visits"] for r in months) == 1
    assert sum(r["spend"] for r in months) == 9_000  # the meal at 9 折; the ride and the refunded room do not count
    [dining] = (await run_report(program_id, "tourism_secondary", {"by": "format"})).as_dicts()
    assert (dining["format"], dining["visits"], dining["spending_visits"], dining["secondary_rate"]) == (
        "dining",
        4,
        1,
        25.0,
    )
    assert dining["spend_per_visit"] == 9_000


async def test_entries_by_hour_gate_and_day(park):
    await _season(park)
    program_id = park.program.id
    hours = (await run_report(program_id, "tourism_entries", {"by": "hour"})).as_dicts()
    assert len(hours) == 24
    assert (hours[9]["entries"], hours[9]["refused"], hours[9]["visitors"]) == (2, 1, 2)
    assert (hours[10]["entries"], hours[14]["entries"], hours[3]["entries"]) == (1, 1, 0)
    gates = {r["gate"]: r for r in (await run_report(program_id, "tourism_entries", {"by": "gate"})).as_dicts()}
    assert (gates["S1"]["entries"], gates["S1"]["days"], gates["N1"]["entries"], gates["N1"]["refused"]) == (3, 2, 1, 1)
    days = (await run_report(program_id, "tourism_entries", {"by": "day"})).as_dicts()
    assert [(r["gate"], r["entries"]) for r in days][:2] == [("N1", 1), ("S1", 2)]  # the latest day first


async def test_pass_renewals_by_month(park):
    now = dt.datetime.now(dt.UTC)
    renewing = await park.member("续卡会员")
    await park.sell(renewing, at=now - 400 * DAY)  # ended 35 days ago…
    await park.sell(renewing, at=now - 30 * DAY)  # …bought again 5 days after: a renewal
    leaving = await park.member("不续卡会员")
    await park.sell(leaving, "summer-pass", at=now - 200 * DAY)  # ended, not renewed
    await park.sell(at=now - 10 * DAY)  # new
    rows = (await run_report(park.program.id, "tourism_renewals", {})).as_dicts()
    assert sum(r["sold"] for r in rows) == 4 and sum(r["renewals"] for r in rows) == 1
    assert sum(r["new_passes"] for r in rows) == 3
    assert sum(r["revenue"] for r in rows) == 3 * 29_800 + 12_800
    assert sum(r["ended"] for r in rows) == 2 and sum(r["renewed"] for r in rows) == 1
    ended = [r for r in rows if r["ended"]]
    assert {r["renewal_rate"] for r in ended} <= {0.0, 100.0, 50.0}


async def test_spending_across_venues(park):
    from membership.ledger.service import redeem_points

    await _season(park)
    await redeem_points(park.member_id, 50, park.hotel, "积分换早餐", actor="test")
    rows = {r["store"]: r for r in (await run_report(park.program.id, "tourism_cross_venue", {})).as_dicts()}
    assert (rows["YQ03"]["format"], rows["YQ03"]["sales"], rows["YQ03"]["cross_members"]) == ("dining", 1, 1)
    assert rows["YQ02"]["sales"] == 1 and rows["YQ02"]["points_redeemed"] == 50  # the refunded room is out
    assert rows["YQ01"]["spend"] == 3_000 and rows["YQ03"]["points_earned"] == 99


async def test_reports_are_refused_where_the_pack_is_off_and_for_unknown_names(park):
    with pytest.raises(TourismReportNotFound):
        await run_report(park.program.id, "tourism_nope", {})
    from membership.plugin import ValidationError

    with pytest.raises(ValidationError):
        await run_report(park.program.id, "tourism_entries", {"by": "week"})
    with pytest.raises(ValidationError):
        await run_report(park.program.id, "tourism_entries", {"months": -1})
    await enable_plugin(park.program.id, "tourism", enabled=False)
    with pytest.raises(TourismOff):
        await run_report(park.program.id, "tourism_revisits", {})
