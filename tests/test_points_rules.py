"""Points rules configured through the API and earned at the till: each award names its rule and
reason (in simulate, the answer and the ledger), a birthday gift comes once a year, caps hold
across a day, retired rules stop earning, bad definitions are refused with the field at fault."""

from __future__ import annotations

import datetime as dt

import pytest

from membership.db import fetch
from membership.errors import ValidationError
from membership.ledger.points_rules import create_rule
from membership.members import service as members
from membership.org.service import update_settings
from tests.helpers import ledger_violations

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _last(weekday: int) -> str:
    """Noon of the latest such weekday (Monday 0) one to seven days ago, in the program's zone."""
    today = dt.datetime.now(SHANGHAI).date()
    day = today - dt.timedelta(days=(today.weekday() - weekday) % 7 or 7)
    return dt.datetime.combine(day, dt.time(12), SHANGHAI).isoformat()


WEDNESDAY_NOON = _last(2)
THURSDAY_NOON = _last(3)
BASE = {"code": "base", "kind": "base_rate", "name": "每元 1 分", "params": {"points": 1, "per_amount": 100}}
MEMBER_DAY = {
    "code": "wed",
    "kind": "member_day",
    "name": "周三会员日",
    "params": {"weekdays": [3], "multiplier_pct": 200},
    "stacking": "best_of",
}
DRINKS = {
    "code": "drinks",
    "kind": "category_multiplier",
    "name": "饮品三倍",
    "params": {"categories": ["饮品"], "multiplier_pct": 300},
    "stacking": "best_of",
}
CAP = {"code": "cap", "kind": "cap", "name": "每日上限", "params": {"per_day": 300}}


async def _configure(api, *rules):
    await update_settings(api.shop.program.id, {"backdate_days": 8})  # a till may send last week's sales
    path = f"/programs/{api.shop.program.id}/points-rules"
    for rule in rules:
        answer = await api.call("POST", path, "admin", rule)
        assert answer.status_code == 201, answer.text
    return path


def _sale(api, amount: int, when: str | None = None, category: str = "") -> dict:
    line = {"sku": "A1", "name": "拿铁", "category": category, "quantity": 1, "unit_price": amount}
    sale = {"member_id": str(api.shop.member_id), "store_id": str(api.shop.store_id), "lines": [line]}
    return sale if when is None else {**sale, "occurred_at": when}


async def test_simulate_explains_every_point_and_the_ledger_keeps_the_reasons(any_api):
    api = any_api
    await _configure(api, BASE, MEMBER_DAY, DRINKS)
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 12_000, WEDNESDAY_NOON, "饮品"))
    assert sim.status_code == 200, sim.text
    awards = [(a["rule"], a["points"]) for a in sim.json()["awards"]]
    assert awards == [("base", 120), ("drinks", 240)]  # best of: drinks ×3 (+240) beats member day ×2 (+120)
    assert "饮品三倍" in sim.json()["awards"][1]["reason"] and "×3" in sim.json()["awards"][1]["reason"]
    thursday = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 12_000, THURSDAY_NOON))
    assert [(a["rule"], a["points"]) for a in thursday.json()["awards"]] == [("base", 120)]
    today = dt.datetime.now(api.shop.program.zone).date()
    wednesday = today + dt.timedelta(days=(2 - today.weekday()) % 7 or 7)  # next week's member day, ahead
    ahead = dt.datetime.combine(wednesday, dt.time(12), api.shop.program.zone).isoformat()
    preview = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 12_000, ahead))
    assert [(a["rule"], a["points"]) for a in preview.json()["awards"]] == [("base", 120), ("wed", 120)], preview.text
    assert (await api.buy(_sale(api, 12_000, ahead))).status_code == 422  # a sale cannot happen ahead
    bought = await api.buy(_sale(api, 12_000, WEDNESDAY_NOON, "饮品"))
    assert bought.status_code == 201 and bought.json()["points_earned"] == 360
    entries = await fetch(
        "SELECT e.rule, e.amount, e.reason FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.member_id = {} AND a.kind = 'points' ORDER BY e.amount",
        api.shop.member_id,
    )
    assert [(e["rule"], e["amount"]) for e in entries] == [("base", 120), ("drinks", 240)]
    assert all(e["reason"] for e in entries)
    assert await ledger_violations() == []


async def test_a_daily_cap_holds_across_the_days_purchases(any_api):
    api = any_api
    await _configure(api, BASE, CAP)
    first = await api.buy(_sale(api, 25_000))
    second = await api.buy(_sale(api, 25_000))
    assert [r.json()["points_earned"] for r in (first, second)] == [250, 50]
    assert "每日上限 300" in second.json()["awards"][0]["reason"]
    used_up = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 5_000))
    assert [(a["rule"], a["points"]) for a in used_up.json()["awards"]] == [("base", 0)]  # said, not silently 0
    assert "capped at 300 per day" in used_up.json()["awards"][0]["reason"]
    refunded = await api.call("POST", f"/transactions/{first.json()['id']}/refund", json={})
    assert refunded.status_code == 201, refunded.text
    after_refund = await api.buy(_sale(api, 25_000))
    assert after_refund.json()["points_earned"] == 250, after_refund.text  # points taken back no longer count


async def test_a_back_dated_sale_counts_against_the_cap_of_the_day_it_is_recorded(any_api):
    api = any_api
    await _configure(api, BASE, CAP)
    today = await api.buy(_sale(api, 25_000))
    yesterday = (dt.datetime.now(SHANGHAI) - dt.timedelta(days=1)).isoformat()
    back_dated = await api.buy(_sale(api, 25_000, yesterday))  # yesterday's unused cap is not to be had
    assert [r.json()["points_earned"] for r in (today, back_dated)] == [250, 50], back_dated.text


async def test_a_birthday_gift_comes_once_a_year_and_first_purchase_bonus_once(api):
    today = dt.datetime.now(api.shop.program.zone).date()
    member = await members.enrol(api.shop.program.id, {"name": "寿星", "birthday": today.replace(year=1990)})
    gift = {
        "code": "bday",
        "kind": "birthday",
        "name": "生日礼",
        "params": {"window": "month", "gift_points": 88, "multiplier_pct": 200},
    }
    first = {"code": "first", "kind": "first_purchase", "name": "首单礼", "params": {"points": 50}}
    await _configure(api, BASE, gift, first)
    body = {**api.sale(10_000), "member_id": str(member.id)}
    one, two = await api.buy(body), await api.buy(body)
    assert [(a["rule"], a["points"]) for a in one.json()["awards"]] == [("base", 100), ("bday", 188), ("first", 50)]
    assert [(a["rule"], a["points"]) for a in two.json()["awards"]] == [("base", 100), ("bday", 100)]


async def test_rules_are_listed_changed_and_retired_and_bad_ones_refused(api):
    path = await _configure(api, BASE, MEMBER_DAY)
    listed = (await api.call("GET", path, "read")).json()
    assert [r["code"] for r in listed] == ["base", "wed"] and listed[1]["stacking"] == "best_of"
    changed = await api.call("PUT", f"{path}/base", "admin", {**BASE, "params": {"points": 2, "per_amount": 100}})
    assert changed.status_code == 200 and changed.json()["params"] == {"points": 2, "per_amount": 100}
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 1_000, THURSDAY_NOON))
    assert sim.json()["points_earned"] == 20
    assert (await api.call("DELETE", f"{path}/wed", "admin")).status_code == 204
    assert [r["code"] for r in (await api.call("GET", path, "read")).json()] == ["base"]
    everything = (await api.call("GET", path, "read", params={"include_retired": "true"})).json()
    assert {r["code"]: r["active"] for r in everything} == {"base": True, "wed": False}

    refused = await api.call("POST", path, "pos", BASE)
    assert refused.status_code == 403
    duplicate = await api.call("POST", path, "admin", BASE)
    assert duplicate.status_code == 422 and duplicate.json()["code"] == "validation_error"
    bad = await api.call(
        "POST", path, "admin", {**MEMBER_DAY, "code": "x", "params": {"weekdays": [8], "multiplier_pct": 200}}
    )
    assert bad.status_code == 422 and "weekdays" in bad.json()["detail"]
    unknown_kind = await api.call("POST", path, "admin", {**BASE, "code": "y", "kind": "lottery"})
    assert unknown_kind.status_code == 422 and "kind: must be one of base_rate" in unknown_kind.json()["detail"]
    for field, value in (("code", "有 空格/"), ("priority", 10**20)):  # a code that fits no URL; no 64-bit integer
        out_of_range = await api.call("POST", path, "admin", {**BASE, field: value})
        assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == field
    with pytest.raises(ValidationError, match="code"):  # the console's path refuses it too
        await create_rule(api.shop.program.id, {**BASE, "code": "有 空格/"})
    missing = await api.call("PUT", f"{path}/nope", "admin", {**BASE, "code": None})
    assert missing.status_code == 404 and missing.json()["code"] == "rule_not_found"
    mismatch = await api.call("PUT", f"{path}/base", "admin", {**BASE, "code": "wed"})  # the body names another rule
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "code"
    audit = await fetch("SELECT action FROM audit_log WHERE action LIKE 'points_rule.%' ORDER BY occurred_at")
    assert [a["action"] for a in audit] == ["points_rule.create"] * 2 + ["points_rule.change", "points_rule.retire"]


async def test_the_rule_kinds_say_what_params_they_take(api):
    kinds = {k["kind"]: k for k in (await api.call("GET", "/points-rule-kinds", "read")).json()}
    assert len(kinds) == 13 and "per_amount" in kinds["base_rate"]["params_schema"]["properties"]
    assert sorted(kinds["birthday"]["params_schema"]["properties"]["window"]["enum"]) == ["day", "month", "week"]


async def test_a_program_without_rules_earns_one_point_per_yuan(api):
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, 12_345, THURSDAY_NOON))
    assert [(a["rule"], a["points"]) for a in sim.json()["awards"]] == [("base", 123)]
