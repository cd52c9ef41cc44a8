"""Points rules with conditions, through the API on SQLite and PostgreSQL: lines limited to or
excluding SKUs, categories, brands and labels; fixed points per product, per unit and per order;
a multiplier of 0; "stop here"; a code typed at the till; minimum order amount and quantity.
``simulate`` says of each rule why it did or did not apply (in Chinese and English), the ledger
keeps the awards' reasons, and a pack adds its own condition kind as the built-ins are added."""

from __future__ import annotations

import pytest

from membership.db import fetch
from membership.errors import Reason
from membership.hookspecs import hookimpl
from membership.ledger import points_rules
from membership.ledger.conditions import OrderCondition
from tests.helpers import ledger_violations

BASE = {"code": "base", "kind": "base_rate", "name": "每元 1 分", "params": {"points": 1, "per_amount": 100}}
COFFEE = {"sku": "C1", "name": "拿铁", "category": "咖啡", "brand": "自有", "quantity": 2, "unit_price": 3000}
WINE = {"sku": "W1", "name": "红酒", "category": "烟酒", "brand": "长城", "quantity": 1, "unit_price": 8000}
MUG = {"sku": "M1", "name": "马克杯", "category": "周边", "brand": "自有", "quantity": 3, "unit_price": 1000}


async def _rules(api, *rules) -> None:
    for rule in rules:
        answer = await api.call("POST", f"/programs/{api.shop.program.id}/points-rules", "admin", rule)
        assert answer.status_code == 201, answer.text


def _sale(api, *lines, **extra) -> dict:
    body = {"member_id": str(api.shop.member_id), "store_id": str(api.shop.store_id), "lines": list(lines)}
    return {**body, **extra}


async def _simulate(api, *lines, **extra) -> dict:
    answer = await api.call("POST", "/transactions/simulate", "pos", _sale(api, *lines, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _awards(answer: dict) -> list[tuple[str, int]]:
    return [(a["rule"], a["points"]) for a in answer["awards"]]


def _check(answer: dict, code: str) -> dict:
    return next(c for c in answer["rules"] if c["rule"] == code)


async def test_rules_limited_to_or_excluding_categories_brands_and_labels(any_api):
    api = any_api
    no_wine = {**BASE, "conditions": [{"kind": "category", "none_of": ["烟酒"]}]}
    red = {
        "code": "red",
        "kind": "multiplier",
        "name": "红色商品三倍",
        "params": {"multiplier_pct": 300},
        "conditions": [{"kind": "label", "any_of": ["红色"]}, {"kind": "label", "none_of": ["外送"]}],
    }
    house = {
        "code": "house",
        "kind": "category_multiplier",
        "name": "自有品牌周边双倍",
        "params": {"categories": ["周边"], "multiplier_pct": 200},
        "conditions": [{"kind": "brand", "any_of": ["自有"]}, {"kind": "sku", "none_of": ["M9"]}],
    }
    await _rules(api, no_wine, red, house)
    red_mug = {**MUG, "labels": ["红色", "店内"]}
    red_delivered = {**COFFEE, "labels": ["红色", "外送"]}
    answer = await _simulate(api, WINE, red_mug, red_delivered)
    # base on coffee 60 + mug 30 (wine excluded); red ×3 on the mug only (the coffee went out for
    # delivery); the house brand's mugs ×2
    assert _awards(answer) == [("base", 90), ("house", 30), ("red", 60)], answer
    assert "category is not 烟酒" not in _check(answer, "base")["reason"]
    only_wine = await _simulate(api, WINE)
    base = _check(only_wine, "base")
    assert not base["applied"] and "没有符合条件的商品（品类不是 烟酒）" in base["reason"]
    assert "no line matches (category is not 烟酒)" in base["reason"]
    bought = await api.buy(_sale(api, WINE, red_mug, red_delivered))
    assert bought.status_code == 201 and bought.json()["points_earned"] == 180, bought.text
    assert await ledger_violations() == []


async def test_fixed_points_per_product_per_unit_and_per_order(any_api):
    api = any_api
    per_unit = {
        "code": "mug-unit",
        "kind": "points_per_item",
        "name": "马克杯每件 5 分",
        "params": {"points": 5, "per": "unit"},
        "conditions": [{"kind": "sku", "any_of": ["M1"]}],
    }
    per_line = {
        "code": "coffee-line",
        "kind": "points_per_item",
        "name": "咖啡每种 7 分",
        "params": {"points": 7, "per": "line"},
        "conditions": [{"kind": "category", "any_of": ["咖啡"]}],
    }
    visit = {
        "code": "visit",
        "kind": "points_per_order",
        "name": "到店 10 分",
        "params": {"points": 10},
        "conditions": [{"kind": "min_quantity", "quantity": 4}],
    }
    await _rules(api, per_unit, per_line, visit)
    answer = await _simulate(api, COFFEE, MUG)
    assert _awards(answer) == [("coffee-line", 7), ("mug-unit", 15), ("visit", 10)], answer
    assert "3 件商品，每件 5 积分：15 积分 / 3 items, 5 each: 15" in _check(answer, "mug-unit")["reason"]
    small = await _simulate(api, COFFEE)
    assert not _check(small, "visit")["applied"]
    assert (
        "符合条件的商品共 2 件，不足 4 件 / 2 items of the rule's lines, fewer than 4"
        in _check(small, "visit")["reason"]
    )
    assert not _check(small, "mug-unit")["applied"]
    bought = await api.buy(_sale(api, COFFEE, MUG))
    assert bought.json()["points_earned"] == 32


async def test_a_multiplier_of_zero_makes_a_line_earn_nothing_from_every_rule(any_api):
    api = any_api
    day = {"code": "day", "kind": "member_day", "name": "天天会员日", "params": {"multiplier_pct": 200, "dates": []}}
    day["params"]["days_of_month"] = list(range(1, 32))
    nothing = {
        "code": "no-wine",
        "kind": "multiplier",
        "name": "烟酒不积分",
        "params": {"multiplier_pct": 0},
        "conditions": [{"kind": "category", "any_of": ["烟酒"]}],
    }
    mugs = {
        "code": "mugs",
        "kind": "points_per_item",
        "name": "每件 1 分",
        "params": {"points": 1},
    }
    await _rules(api, BASE, day, nothing, mugs)
    answer = await _simulate(api, WINE, COFFEE)
    # wine earns neither its base, nor the member day's bonus, nor its per-item point
    assert _awards(answer) == [("base", 60), ("day", 60), ("mugs", 2)], answer
    check = _check(answer, "no-wine")
    assert check["applied"] and "1 行商品不积分 / 1 lines earn nothing" in check["reason"]
    assert (await api.buy(_sale(api, WINE))).json()["points_earned"] == 0


async def test_stop_here_keeps_lower_priority_rules_from_running(any_api):
    api = any_api
    brand_day = {
        "code": "greatwall",
        "kind": "points_per_order",
        "name": "长城专场",
        "priority": 50,
        "stop": True,
        "params": {"points": 100},
        "conditions": [{"kind": "brand", "any_of": ["长城"]}],
    }
    cap = {"code": "cap", "kind": "cap", "name": "单笔上限", "params": {"per_transaction": 80}}
    await _rules(api, BASE, brand_day, cap)
    answer = await _simulate(api, WINE, COFFEE)
    assert _awards(answer) == [("greatwall", 80)], answer  # the base did not run; the cap still did
    base = _check(answer, "base")
    assert not base["applied"] and "长城专场" in base["reason"] and "stops the rules after it" in base["reason"]
    assert _check(answer, "cap")["applied"]
    plain = await _simulate(api, COFFEE)  # the stop rule does not apply: the base runs
    assert _awards(plain) == [("base", 60)]


async def test_a_rule_that_needs_a_code_typed_at_the_till(any_api):
    api = any_api
    spring = {
        "code": "spring",
        "kind": "multiplier",
        "name": "春季活动码双倍",
        "params": {"multiplier_pct": 200},
        "conditions": [{"kind": "code", "codes": ["SPRING26"]}],
    }
    await _rules(api, BASE, spring)
    without = await _simulate(api, COFFEE)
    assert _awards(without) == [("base", 60)]
    assert "须在收银台输入活动码 / needs its code typed at the till" in _check(without, "spring")["reason"]
    typed = await _simulate(api, COFFEE, codes=[" spring26 "])
    assert _awards(typed) == [("base", 60), ("spring", 60)]
    bought = await api.buy(_sale(api, COFFEE, codes=["Spring26"]))
    assert bought.status_code == 201 and bought.json()["points_earned"] == 120
    wrong = await api.buy(_sale(api, COFFEE, codes=["no way!"]))
    assert wrong.status_code == 422 and wrong.json()["code"] == "validation_error"
    entries = await fetch(
        "SELECT e.rule FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.member_id = {} AND a.kind = 'points' ORDER BY e.rule",
        api.shop.member_id,
    )
    assert [e["rule"] for e in entries] == ["base", "spring"]


async def test_simulate_explains_minimum_amounts_dates_and_stacking(any_api):
    api = any_api
    big = {**BASE, "code": "big", "name": "满百", "min_spend": 10_000, "params": {"points": 2, "per_amount": 100}}
    later = {**BASE, "code": "later", "name": "明年", "starts_on": "2099-01-01"}
    triple = {
        "code": "x3",
        "kind": "multiplier",
        "name": "三倍",
        "params": {"multiplier_pct": 300},
        "stacking": "best_of",
    }
    double = {
        "code": "x2",
        "kind": "multiplier",
        "name": "双倍",
        "params": {"multiplier_pct": 200},
        "stacking": "best_of",
    }
    await _rules(api, BASE, big, later, triple, double)
    answer = await _simulate(api, COFFEE)
    below = "计积分金额 60.00 CNY 未满 100.00 CNY / earning base 60.00 CNY below 100.00 CNY"
    assert below in _check(answer, "big")["reason"]
    assert "不在有效期内（2099-01-01 – …）" in _check(answer, "later")["reason"]
    assert _check(answer, "x3")["applied"] and _check(answer, "x3")["points"] == 120
    lost = _check(answer, "x2")
    assert not lost["applied"] and "best of its group: '三倍' earns more" in lost["reason"]


async def test_bad_conditions_are_refused_naming_the_field(any_api):
    api = any_api
    path = f"/programs/{api.shop.program.id}/points-rules"
    cases = [
        ([{"kind": "colour", "any_of": ["红"]}], "conditions[1].kind"),
        ([{"kind": "label"}], "conditions"),
        ([{"kind": "min_quantity", "quantity": 0}], "conditions[1].quantity"),
        ([{"kind": "sku", "any_of": ["A"], "extra": 1}], "conditions[1]"),
        (["sku"], "conditions"),
    ]
    for conditions, field in cases:
        answer = await api.call("POST", path, "admin", {**BASE, "conditions": conditions})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"].startswith(field), answer.json()
    cap = {"code": "cap", "kind": "cap", "name": "上限", "params": {"per_day": 5}, "stop": True}
    refused = await api.call("POST", path, "admin", cap, lang="zh")
    assert refused.status_code == 422 and "只有消费积分规则" in refused.text
    hundred = {"code": "same", "kind": "multiplier", "name": "不变", "params": {"multiplier_pct": 100}}
    assert (await api.call("POST", path, "admin", hundred)).status_code == 422


async def test_a_form_that_does_not_know_conditions_keeps_them(any_api):
    api = any_api
    await _rules(api, {**BASE, "conditions": [{"kind": "sku", "none_of": ["W1"]}], "stop": True})
    program = api.shop.program.id
    await points_rules.change_rule(program, "base", {"kind": "base_rate", "name": "改名", "params": BASE["params"]})
    kept = await points_rules.get_rule(program, "base")
    assert (
        kept["name"] == "改名"
        and kept["stop"]
        and kept["conditions"] == [{"kind": "sku", "any_of": [], "none_of": ["W1"]}]
    )
    put = await api.call("PUT", f"/programs/{program}/points-rules/base", "admin", {**BASE, "name": "API"})
    assert put.status_code == 200 and put.json()["conditions"] == [] and not put.json()["stop"]


class DineIn(OrderCondition):
    """Dine-in purchases only (a catering pack's condition)."""

    name, label_zh, label_en = "dine_in", "堂食", "dine-in"

    def check(self, params, order):
        if order.context.attributes.get("service_mode") != "dine_in":
            return Reason("only for dine-in", "仅限堂食")
        return None


class DineInPlugin:
    @hookimpl
    def membership_register_rule_conditions(self):
        return [DineIn]


@pytest.mark.parametrize("registered", [True])
async def test_hook_register_rule_conditions(any_api, register_plugin, registered):
    api = any_api
    register_plugin(DineInPlugin(), name="dine-in")
    kinds = await api.call("GET", "/points-rule-conditions", "read")
    found = {k["kind"]: k for k in kinds.json()}
    assert {"sku", "category", "brand", "label", "min_quantity", "code", "dine_in"} <= set(found)
    assert found["dine_in"]["scope"] == "order" and found["label"]["scope"] == "line"
    assert found["min_quantity"]["params_schema"]["required"] == ["quantity"]
    eat_in = {
        "code": "eat-in",
        "kind": "points_per_order",
        "name": "堂食加 20 分",
        "params": {"points": 20},
        "conditions": [{"kind": "dine_in"}],
    }
    await _rules(api, eat_in)
    here = await _simulate(api, COFFEE, attributes={"service_mode": "dine_in"})
    away = await _simulate(api, COFFEE, attributes={"service_mode": "takeaway"})
    assert _awards(here) == [("eat-in", 20)] and _awards(away) == []
    assert "仅限堂食 / only for dine-in" in _check(away, "eat-in")["reason"]
