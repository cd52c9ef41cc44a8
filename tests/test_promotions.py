"""Promotions at the till (促销活动) through the API on SQLite and PostgreSQL: each kind of
discount, the conditions (products, categories, minimum amount and quantity), the best
combination for the customer when promotions do not stack (with the reasons in Chinese and
English), usage limits per member and in all (also under parallel sales), promotion codes typed at
the till, the validity window and stores, the earning base, and the refund that gives the uses
back; a pack's own kind through the hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from membership.db import fetch, fetch_one
from membership.db.engine import clear_caches
from membership.hookspecs import hookimpl
from membership.members import service as members
from membership.org import service as org
from membership.promotions.kinds import PromotionKind
from tests.helpers import ledger_violations

TEA = {"sku": "TEA", "name": "奶茶", "category": "饮品", "quantity": 2, "unit_price": 1000}
CAKE = {"sku": "CAKE", "name": "蛋糕", "category": "甜品", "quantity": 1, "unit_price": 3500}
BREAD = {"sku": "BREAD", "name": "面包", "category": "烘焙", "quantity": 3, "unit_price": 800}
SNACK_A = {"sku": "SNACK-A", "name": "薯片", "category": "零食", "quantity": 2, "unit_price": 300}
SNACK_B = {"sku": "SNACK-B", "name": "饼干", "category": "零食", "quantity": 1, "unit_price": 200}
WATER = {"sku": "WATER", "name": "矿泉水", "category": "饮品", "quantity": 3, "unit_price": 150}


def _path(api, suffix: str = "") -> str:
    return f"/programs/{api.shop.program.id}/promotions{suffix}"


async def _promotion(api, code: str, kind: str, params: dict, **terms) -> dict:
    body = {"code": code, "name": terms.pop("name", code), "kind": kind, "params": params, **terms}
    answer = await api.call("POST", _path(api), "admin", body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _sku(*skus: str) -> list[dict]:
    return [{"kind": "sku", "any_of": list(skus)}]


def _sale(api, *lines, member_id: uuid.UUID | None = None, **extra) -> dict:
    member = str(member_id or api.shop.member_id)
    return {"member_id": member, "store_id": str(api.shop.store_id), "lines": list(lines), **extra}


def _applied(answer: dict) -> dict[str, int]:
    return {p["code"]: p["discount"] for p in answer["promotions"] if p["applied"]}


def _reasons(answer: dict) -> dict[str, tuple[str, str]]:
    return {p["code"]: (p["reason_zh"], p["reason_en"]) for p in answer["promotions"]}


async def _used(code: str) -> int:
    """The uses not given back; for a promotion limited in all, its counter must say the same."""
    row = await fetch_one(
        "SELECT p.used_count, p.total_limit, (SELECT COUNT(*) FROM promotion_use u WHERE u.program_id = p.program_id"
        " AND u.promotion_id = p.id AND u.returned_at IS NULL) AS uses FROM promotion p WHERE p.code = {}",
        code,
    )
    if row["total_limit"] is not None:
        assert int(row["used_count"]) == int(row["uses"])
    return int(row["uses"])


async def test_each_kind_of_discount_in_simulate_and_in_the_sale(any_api):
    api = any_api
    await _promotion(api, "tea8", "percent_off", {"percent_off": 20}, conditions=_sku("TEA"), stackable=True)
    await _promotion(api, "cake5", "amount_off", {"amount_off": 500}, conditions=_sku("CAKE"), stackable=True)
    await _promotion(api, "bread5", "fixed_price", {"price": 500}, conditions=_sku("BREAD"), stackable=True)
    snacks = [{"kind": "category", "any_of": ["零食"]}]
    await _promotion(api, "snackfree", "cheapest_item", {}, conditions=snacks, stackable=True)
    await _promotion(api, "water21", "buy_n_get_m", {"buy": 2, "get": 1}, conditions=_sku("WATER"), stackable=True)
    body = _sale(api, TEA, CAKE, BREAD, SNACK_A, SNACK_B, WATER)
    subtotal = 2000 + 3500 + 2400 + 600 + 200 + 450
    sim = await api.call("POST", "/transactions/simulate", "pos", body)
    assert sim.status_code == 200, sim.text
    expected = {"tea8": 400, "cake5": 500, "bread5": 900, "snackfree": 200, "water21": 150}
    assert _applied(sim.json()) == expected
    assert sim.json()["discount"] == 2150 and sim.json()["total"] == subtotal - 2150
    assert sim.json()["earning_base"] == subtotal - 2150  # after discounts, like coupons
    zh, en = _reasons(sim.json())["tea8"]
    assert zh == "已享受：打 8 折，优惠 4.00 CNY" and en == "applied: 20% off, 4.00 CNY off"
    assert await _used("tea8") == 0  # a simulation takes no use

    sold = await api.buy(body, idem="till-1")
    assert sold.status_code == 201, sold.text
    assert _applied(sold.json()) == expected and sold.json()["total"] == subtotal - 2150
    assert sold.json()["subtotal"] == subtotal and sold.json()["points_earned"] == (subtotal - 2150) // 100
    replay = await api.buy(body, idem="till-1")
    assert replay.json()["promotions"] == sold.json()["promotions"] and await _used("tea8") == 1
    uses = await fetch("SELECT discount FROM promotion_use ORDER BY discount")
    assert [u["discount"] for u in uses] == sorted(expected.values())
    assert await ledger_violations() == []


async def test_conditions_select_lines_and_say_why_they_do_not_hold(any_api):
    api = any_api
    drinks = [{"kind": "category", "any_of": ["饮品"], "none_of": []}, {"kind": "min_quantity", "quantity": 3}]
    await _promotion(api, "drinks3", "percent_off", {"percent_off": 10}, conditions=drinks, stackable=True)
    await _promotion(api, "cake100", "amount_off", {"amount_off": 1000}, conditions=_sku("CAKE"), min_amount=10_000)
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA, CAKE), lang="zh")
    assert _applied(sim.json()) == {}
    reasons = _reasons(sim.json())
    assert reasons["drinks3"][0] == "未享受：符合条件的商品共 2 件，不足 3 件"
    assert reasons["cake100"] == (
        "未享受：适用商品合计 35.00 CNY，未满 100.00 CNY",
        "not applied: its lines come to 35.00 CNY, less than 100.00 CNY",
    )
    # three drinks (the water counts, the cake does not): 10 % off the drinks only
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA, CAKE, {**WATER, "quantity": 1}))
    assert _applied(sim.json()) == {"drinks3": (2000 + 150) // 10}
    none = await api.call("POST", "/transactions/simulate", "pos", _sale(api, BREAD))
    assert _reasons(none.json())["cake100"][1] == "not applied: no line is SKU is CAKE"
    bad = await api.call(
        "POST", _path(api), "admin", {"code": "x", "name": "x", "kind": "percent_off", "params": {"percent_off": 120}}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "params.percent_off"
    bad = await api.call("POST", _path(api), "admin", {"code": "x", "name": "x", "kind": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    bad = await api.call(
        "POST",
        _path(api),
        "admin",
        {
            "code": "x",
            "name": "x",
            "kind": "amount_off",
            "params": {"amount_off": 100},
            "conditions": [{"kind": "sku"}],
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("conditions")


async def test_the_best_combination_for_the_customer_is_chosen_with_reasons(any_api):
    api = any_api
    # alone, 30 % off the tea (6.00) beats 5.00 off; together the stackable ones give 5.00 + 2.00
    await _promotion(api, "a-tea30", "percent_off", {"percent_off": 30}, conditions=_sku("TEA"))
    await _promotion(api, "b-five", "amount_off", {"amount_off": 500}, stackable=True)
    await _promotion(api, "c-tea10", "percent_off", {"percent_off": 10}, conditions=_sku("TEA"), stackable=True)
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA))
    assert _applied(sim.json()) == {"b-five": 500, "c-tea10": 200}
    zh, en = _reasons(sim.json())["a-tea30"]
    assert zh.startswith("未享受：该活动不可与其他活动同享") and "7.00 CNY" in zh
    assert "does not combine" in en and "more for the customer" in en
    await _promotion(api, "d-tea50", "percent_off", {"percent_off": 50}, conditions=_sku("TEA"))
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA))
    assert _applied(sim.json()) == {"d-tea50": 1000} and sim.json()["total"] == 1000
    assert "d-tea50" not in _reasons(sim.json())["b-five"][0] or "不可同享" in _reasons(sim.json())["b-five"][0]
    # a tie between two that do not stack: the first by code, every time
    await fetch("UPDATE promotion SET active = {} WHERE code IN ('b-five', 'c-tea10')", False)
    await _promotion(api, "0-half", "amount_off", {"amount_off": 1000}, conditions=_sku("TEA"))
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA))
    assert _applied(sim.json()) == {"0-half": 1000}


async def test_limits_per_member_and_in_all_and_the_refund_gives_uses_back(any_api):
    api = any_api
    await _promotion(api, "once", "amount_off", {"amount_off": 300}, member_limit=1, total_limit=2, stackable=True)
    first = await api.buy(_sale(api, CAKE))
    assert first.status_code == 201 and _applied(first.json()) == {"once": 300}
    again = await api.buy(_sale(api, CAKE))
    assert _applied(again.json()) == {} and _reasons(again.json())["once"][1] == (
        "not applied: the member has used it 1 times, its limit"
    )
    other = await members.enrol(
        api.shop.program.id, {"name": "李娜", "phone": "13900001111"}, store_id=api.shop.store_id
    )
    third = await members.enrol(
        api.shop.program.id, {"name": "王芳", "phone": "13900002222"}, store_id=api.shop.store_id
    )
    assert _applied((await api.buy(_sale(api, CAKE, member_id=other.id))).json()) == {"once": 300}
    full = await api.buy(_sale(api, CAKE, member_id=third.id))
    assert _applied(full.json()) == {} and _reasons(full.json())["once"][0] == "未享受：2 次名额已用完"
    assert await _used("once") == 2

    part = await api.call(
        "POST", f"/transactions/{first.json()['id']}/refund", json={"lines": [{"line_no": 1, "quantity": 1}]}
    )
    assert part.status_code == 201 and part.json()["promotions_returned"] == ["once"]  # one line: the whole sale
    assert part.json()["amount"] == 3500 - 300  # what was paid comes back
    assert await _used("once") == 1
    back = await api.buy(_sale(api, CAKE, member_id=third.id))
    assert _applied(back.json()) == {"once": 300}
    mine = await api.buy(_sale(api, CAKE))  # the member's use came back too, but the 2 in all are taken
    assert _applied(mine.json()) == {}
    assert await ledger_violations() == []


async def test_refund_of_part_keeps_the_use_and_earning_base_before_discounts(any_api):
    api = any_api
    await org.update_settings(api.shop.program.id, {"earning_base": "before_discounts"})
    await _promotion(api, "tea8", "percent_off", {"percent_off": 20}, conditions=_sku("TEA"), member_limit=5)
    sold = await api.buy(_sale(api, TEA, CAKE))
    assert sold.json()["total"] == 5500 - 400 and sold.json()["points_earned"] == 55  # earns on 55.00
    sale_id = sold.json()["id"]
    part = await api.call("POST", f"/transactions/{sale_id}/refund", json={"lines": [{"line_no": 2, "quantity": 1}]})
    assert part.status_code == 201 and part.json()["promotions_returned"] == [] and await _used("tea8") == 1
    rest = await api.call("POST", f"/transactions/{sale_id}/refund", json={})
    assert rest.json()["promotions_returned"] == ["tea8"] and await _used("tea8") == 0
    assert part.json()["amount"] + rest.json()["amount"] == 5100
    returned = await fetch_one("SELECT returned_at FROM promotion_use")
    assert returned["returned_at"] is not None


async def test_codes_window_and_stores(any_api):
    api = any_api
    await _promotion(api, "vip", "amount_off", {"amount_off": 1000}, till_code="vip2027", stackable=True)
    tomorrow = (dt.datetime.now(api.shop.program.zone) + dt.timedelta(days=1)).date()
    await _promotion(api, "later", "amount_off", {"amount_off": 100}, valid_from=str(tomorrow), stackable=True)
    await _promotion(
        api, "s2only", "amount_off", {"amount_off": 200}, store_ids=[str(api.shop.other_store_id)], stackable=True
    )
    sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, CAKE))
    assert _applied(sim.json()) == {}
    reasons = _reasons(sim.json())
    assert reasons["vip"][0] == "未享受：须在收银台输入活动码"
    assert reasons["later"][1] == f"not applied: starts on {tomorrow}"
    assert reasons["s2only"][0] == "未享受：本门店不参加"
    typed = await api.buy(_sale(api, CAKE, promotion_codes=[" VIP2027 "]))
    assert typed.status_code == 201 and _applied(typed.json()) == {"vip": 1000}
    unknown = await api.buy(_sale(api, CAKE, promotion_codes=["NOPE"]))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "promotion_codes"
    ahead = {**_sale(api, CAKE), "occurred_at": f"{tomorrow}T12:00:00+08:00"}
    assert _applied((await api.call("POST", "/transactions/simulate", "pos", ahead)).json()) == {"later": 100}
    ended = await api.call("DELETE", _path(api, "/vip"), "admin")
    assert ended.status_code == 204
    gone = await api.buy(_sale(api, CAKE, promotion_codes=["vip2027"]))
    assert gone.status_code == 422  # an ended promotion's code is not known at the till
    listed = await api.call("GET", _path(api), "read", params={"include_ended": "true"})
    assert {p["code"]: p["used_count"] for p in listed.json()["items"]} == {"later": 0, "s2only": 0, "vip": 1}


async def test_parallel_sales_never_pass_the_limit_in_all(any_api):
    api = any_api
    await _promotion(api, "first3", "amount_off", {"amount_off": 500}, total_limit=3, stackable=True)
    buyers = []
    for i in range(8):
        member = await members.enrol(
            api.shop.program.id, {"name": f"会员{i}", "phone": f"1370000{i:04d}"}, store_id=api.shop.store_id
        )
        buyers.append(member.id)
    answers = await asyncio.gather(*(api.buy(_sale(api, CAKE, member_id=m)) for m in buyers))
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    got = [a.json()["total"] for a in answers]
    assert sorted(got) == [3000] * 3 + [3500] * 5
    assert await _used("first3") == 3
    assert (await fetch_one("SELECT COUNT(*) AS n FROM promotion_use"))["n"] == 3

    # one member at four tills at once, a promotion once per member: one sale gets it
    await _promotion(api, "mine1", "amount_off", {"amount_off": 100}, member_limit=1, stackable=True)
    answers = await asyncio.gather(*(api.buy(_sale(api, BREAD)) for _ in range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert sorted("mine1" in _applied(a.json()) for a in answers) == [False, False, False, True]
    assert await _used("mine1") == 1


class SecondHalf(PromotionKind):
    name, label_zh, label_en = "second_half", "第二件半价", "second unit half price"

    def discounts(self, params, lines):
        return [line.quantity // 2 * line.price // 2 for line in lines]


class SecondHalfPlugin:
    @hookimpl
    def membership_register_promotion_kinds(self):
        return [SecondHalf]


@pytest.mark.parametrize("registered", [True])
async def test_hook_register_promotion_kinds(any_api, register_plugin, registered):
    api = any_api
    register_plugin(SecondHalfPlugin(), name="second-half")
    kinds = {k["kind"]: k for k in (await api.call("GET", "/promotion-kinds", "read")).json()}
    assert kinds["second_half"]["label_zh"] == "第二件半价" and "buy_n_get_m" in kinds
    await _promotion(api, "half", "second_half", {}, conditions=_sku("TEA"))
    sold = await api.buy(_sale(api, TEA))
    assert sold.status_code == 201 and _applied(sold.json()) == {"half": 500}
    await fetch("UPDATE promotion SET params = {} WHERE code = 'half'", '{"percent": 5}')  # its pack changed
    clear_caches()  # the rows changed behind the kernel's back
    changed = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA))
    assert _applied(changed.json()) == {} and "save the promotion again" in _reasons(changed.json())["half"][1]
    await fetch("UPDATE promotion SET kind = 'cinema' WHERE code = 'half'")  # as if its pack were removed
    clear_caches()
    gone = await api.call("POST", "/transactions/simulate", "pos", _sale(api, TEA))
    assert _applied(gone.json()) == {} and "not available" in _reasons(gone.json())["half"][1]
