"""Rewards priced in points (积分商城) through the API on SQLite and PostgreSQL: a gift and a
discount redeemed inside a sale (points spent and discount applied in one transaction, given back
with the refund of the whole sale), a reward redeemed on its own (idempotent, its coupon used
later, a redemption cancelled), the refusals (points, stock, limit, window, store, retired, a gift
whose product is not in the sale) in Chinese and English, races for the last units, the limit and
the points, and a pack's own kind through the hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated

import msgspec
import pytest

from membership.db import fetch, fetch_one
from membership.hookspecs import hookimpl
from membership.ledger import service as ledger
from membership.members import service as members
from membership.members.merge import merge_members, undo_merge
from membership.rewards.kinds import CouponTerms, RewardKind, RewardParams
from tests.helpers import ledger_violations

DRINK = {"sku": "DRINK-01", "name": "美式咖啡", "category": "饮品", "quantity": 1, "unit_price": 1800}
CAKE = {"sku": "CAKE-01", "name": "芝士蛋糕", "category": "甜品", "quantity": 2, "unit_price": 3500}
GIFT = {"code": "drink300", "name": "300 积分换饮品", "kind": "gift", "params": {"sku": "DRINK-01"}, "points": 300}
DISCOUNT = {
    "code": "off20",
    "name": "500 积分享 8 折",
    "kind": "discount",
    "params": {"percent_off": 20, "max_off": 5000},
    "points": 500,
}


def _path(api, suffix: str = "") -> str:
    return f"/programs/{api.shop.program.id}/rewards{suffix}"


async def _reward(api, **terms) -> dict:
    answer = await api.call("POST", _path(api), "admin", terms)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _points(api, points: int, member_id: uuid.UUID | None = None) -> None:
    await ledger.adjust_points(member_id or api.shop.member_id, points, "活动赠送", "admin")


def _sale(api, *lines, member_id: uuid.UUID | None = None, **extra) -> dict:
    member = str(member_id or api.shop.member_id)
    return {"member_id": member, "store_id": str(api.shop.store_id), "lines": list(lines), **extra}


async def _stock(code: str) -> int | None:
    return (await fetch_one("SELECT stock FROM reward WHERE code = {}", code))["stock"]


async def _balance(api, member_id: uuid.UUID | None = None) -> int:
    return (await ledger.balances(member_id or api.shop.member_id)).points


async def test_a_gift_and_a_discount_redeemed_in_a_sale_and_given_back_by_its_refund(any_api):
    api = any_api
    await _reward(api, **GIFT, stock=10, member_limit=2, limit_period="month", stackable=True)
    await _reward(api, **DISCOUNT, stackable=True)
    await _points(api, 1000)
    body = _sale(api, DRINK, CAKE, rewards=["drink300", "off20"])
    sim = await api.call("POST", "/transactions/simulate", "pos", body)
    assert sim.status_code == 200, sim.text
    # the drink comes free (18.00), then 20 % off the cake's 70.00 = 14.00
    assert [(r["reward"], r["points"], r["coupon"], r["discount"]) for r in sim.json()["rewards"]] == [
        ("drink300", 300, None, 1800),
        ("off20", 500, None, 1400),
    ]
    assert sim.json()["total"] == 5600 and await _stock("drink300") == 10  # nothing written
    sold = await api.buy(body, idem="till-1-1")
    assert sold.status_code == 201, sold.text
    sale = sold.json()
    assert sale["total"] == 5600 and sale["discount"] == 3200
    assert sale["balances"]["points"] == 1000 - 800 + sale["points_earned"]
    assert [(r["reward"], r["discount"]) for r in sale["rewards"]] == [("drink300", 1800), ("off20", 1400)]
    coupons = {c["code"]: c["discount"] for c in sale["coupons"]}
    assert coupons == {r["coupon"]: r["discount"] for r in sale["rewards"]}  # used by the sale, as coupons
    assert await _stock("drink300") == 9 and await _stock("off20") is None
    replay = await api.buy(body, idem="till-1-1")
    assert replay.json()["rewards"] == sale["rewards"] and await _stock("drink300") == 9
    held = await api.call("GET", f"/members/{api.shop.member_id}/reward-redemptions", "read")
    assert sorted((r["reward"], r["state"], r["sale_id"]) for r in held.json()["items"]) == [
        ("drink300", "redeemed", sale["id"]),
        ("off20", "redeemed", sale["id"]),
    ]

    part = await api.call("POST", f"/transactions/{sale['id']}/refund", json={"lines": [{"line_no": 2, "quantity": 1}]})
    assert part.status_code == 201 and part.json()["reward_points_returned"] == 0  # only the whole sale gives back
    rest = await api.call("POST", f"/transactions/{sale['id']}/refund", json={})
    assert rest.status_code == 201, rest.text
    assert rest.json()["reward_points_returned"] == 800 and sorted(rest.json()["rewards_returned"]) == [
        "drink300",
        "off20",
    ]
    assert rest.json()["coupons_returned"] == []  # the rewards' coupons are void, not given back usable
    assert await _balance(api) == 1000 and await _stock("drink300") == 10
    states = await fetch("SELECT state FROM reward_redemption ORDER BY state")
    assert [s["state"] for s in states] == ["refunded", "refunded"]
    coupon_states = {r["state"] for r in await fetch("SELECT state FROM coupon")}
    assert coupon_states == {"void"}
    assert await ledger_violations() == []


async def test_a_reward_redeemed_on_its_own_gives_a_coupon_used_later_and_can_be_cancelled(any_api):
    api = any_api
    await _reward(api, **{**DISCOUNT, "params": {"amount_off": 1000, "min_spend": 5000}}, stock=5, coupon_days=7)
    await _points(api, 1200)
    path = _path(api, "/off20/redeem")
    member = {"member_id": str(api.shop.member_id), "store_id": str(api.shop.store_id)}
    first = await api.call("POST", path, "pos", member, **{"Idempotency-Key": "app-1"})
    assert first.status_code == 201, first.text
    got = first.json()
    assert got["points"] == 500 and got["balances"]["points"] == 700 and got["state"] == "redeemed"
    assert dt.date.fromisoformat(got["valid_until"]) - dt.date.fromisoformat(got["valid_from"]) == dt.timedelta(days=6)
    again = await api.call("POST", path, "pos", member, **{"Idempotency-Key": "app-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["coupon"] == got["coupon"] and await _balance(api) == 700 and await _stock("off20") == 4
    other = await api.call("POST", path, "pos", {"member_id": str(api.shop.member_id)}, **{"Idempotency-Key": "app-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"  # same key, another body
    used = await api.buy(_sale(api, CAKE, coupons=[got["coupon"]]))
    assert used.status_code == 201 and used.json()["discount"] == 1000, used.text
    refused = await api.call("POST", f"/reward-redemptions/{got['id']}/cancel", "admin", {"reason": "改换"})
    assert refused.status_code == 409 and refused.json()["code"] == "reward_redemption_not_cancellable"

    second = (await api.call("POST", path, "pos", member, **{"Idempotency-Key": "app-2"})).json()
    before = await _balance(api)
    cancelled = await api.call("POST", f"/reward-redemptions/{second['id']}/cancel", "admin", {"reason": "顾客改换"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["coupon_state"] == "void"
    assert await _balance(api) == before + 500 and await _stock("off20") == 4
    twice = await api.call("POST", f"/reward-redemptions/{second['id']}/cancel", "admin", {"reason": "再次"})
    assert twice.status_code == 409
    assert await ledger_violations() == []


async def test_refusals_say_why_in_chinese_and_english(any_api):
    api = any_api
    today = dt.datetime.now(api.shop.program.zone).date()
    await _reward(api, **GIFT, stock=1, member_limit=1, limit_period="day")
    await _reward(api, **{**GIFT, "code": "later", "available_from": str(today + dt.timedelta(days=3))})
    await _reward(api, **{**GIFT, "code": "elsewhere", "store_ids": [str(api.shop.other_store_id)]})
    await _reward(api, **{**GIFT, "code": "gone"})
    assert (await api.call("DELETE", _path(api, "/gone"), "admin")).status_code == 204
    await _reward(api, **{**DISCOUNT, "points": 5000})

    async def refused(rewards, lines=(DRINK,), lang="en"):
        answer = await api.call(
            "POST",
            "/transactions",
            "pos",
            _sale(api, *lines, rewards=rewards),
            lang=lang,
            **{"Idempotency-Key": uuid.uuid4().hex},
        )
        return answer.status_code, answer.json()["code"], answer.json()["detail"]

    status, code, detail = await refused(["off20"], lang="zh")
    assert (status, code) == (409, "insufficient_points") and "积分不足" in detail
    await _points(api, 10_000)
    status, code, detail = await refused(["drink300"], lines=(CAKE,), lang="zh")
    assert (status, code) == (409, "reward_not_usable") and "300 积分换饮品" in detail and "DRINK-01" in detail
    assert await _stock("drink300") == 1 and await _balance(api) == 10_000  # nothing was kept
    assert (await refused(["later"]))[:2] == (409, "reward_not_yet_available")
    assert (await refused(["elsewhere"]))[:2] == (409, "reward_wrong_store")
    status, code, detail = await refused(["gone"], lang="zh")
    assert (status, code) == (409, "reward_retired") and "已下架" in detail
    assert (await refused(["nothing"]))[:2] == (404, "reward_not_found")
    status, code, detail = await refused(["drink300", "drink300"])
    assert (status, code) == (409, "reward_limit_reached") and "1 times per member per day" in detail
    assert (await api.buy(_sale(api, DRINK, rewards=["drink300"]))).status_code == 201
    status, code, detail = await refused(["drink300"], lang="zh")
    assert (status, code) == (409, "reward_limit_reached") and "每天限兑 1 次" in detail
    other = await members.enrol(
        api.shop.program.id, {"name": "李娜", "phone": "13900001111"}, store_id=api.shop.store_id
    )
    await _points(api, 1000, other.id)
    answer = await api.call(
        "POST",
        "/transactions",
        "pos",
        _sale(api, DRINK, member_id=other.id, rewards=["drink300"]),
        lang="zh",
        **{"Idempotency-Key": "x1"},
    )
    assert answer.json()["code"] == "reward_out_of_stock" and "库存不足" in answer.json()["detail"]
    await fetch("UPDATE reward SET available_until = {} WHERE code = 'elsewhere'", today - dt.timedelta(days=1))
    on_own = await api.call(
        "POST", _path(api, "/elsewhere/redeem"), "pos", {"member_id": str(other.id)}, **{"Idempotency-Key": "x2"}
    )
    assert on_own.status_code == 409 and on_own.json()["code"] == "reward_expired"


async def test_bad_rewards_are_refused_naming_the_field(any_api):
    api = any_api
    for terms, field in (
        ({**GIFT, "params": {}}, "params.sku"),
        ({**DISCOUNT, "params": {"percent_off": 20, "amount_off": 100}}, "params.percent_off"),
        ({**DISCOUNT, "params": {"amount_off": 100, "max_off": 50}}, "params.max_off"),
        ({**GIFT, "kind": "cinema"}, "kind"),
        ({**GIFT, "points": 0}, "points"),
        ({**GIFT, "stock": -1}, "stock"),
        ({**GIFT, "limit_period": "hour"}, "limit_period"),
    ):
        answer = await api.call("POST", _path(api), "admin", terms)
        assert answer.status_code == 422, (terms, answer.text)
        assert answer.json()["errors"][0]["field"] == field, answer.text
    await _reward(api, **GIFT)
    again = await api.call("POST", _path(api), "admin", GIFT)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "code"
    changed = await api.call("PUT", _path(api, "/drink300"), "admin", {**GIFT, "points": 280, "stock": 3})
    assert changed.status_code == 200 and changed.json()["points"] == 280 and changed.json()["stock"] == 3
    assert changed.json()["gives_zh"] == "赠送 DRINK-01"
    template = f"/programs/{api.shop.program.id}/coupon-templates/reward.drink300"
    locked = await api.call(
        "PUT", template, "admin", {"name": "x", "kind": "amount_off", "amount_off": 1, "valid_days": 1}
    )
    assert locked.status_code == 409 and locked.json()["code"] == "reward_template_locked"
    listed = await api.call("GET", _path(api), "read")
    assert [r["code"] for r in listed.json()["items"]] == ["drink300"] and listed.json()["total"] == 1
    kinds = await api.call("GET", "/reward-kinds", "read")
    assert {k["kind"] for k in kinds.json()} >= {"gift", "discount"}


async def _parallel(n, make):
    return await asyncio.gather(*(make(i) for i in range(n)))


async def test_the_last_units_go_to_one_redemption_each(any_api):
    api = any_api
    await _reward(api, **GIFT, stock=3)
    buyers = []
    for i in range(8):
        member = await members.enrol(
            api.shop.program.id, {"name": f"会员{i}", "phone": f"1370000{i:04d}"}, store_id=api.shop.store_id
        )
        await _points(api, 300, member.id)
        buyers.append(member.id)

    async def redeem(i):
        body = {"member_id": str(buyers[i])}
        if i % 2:
            return await api.call("POST", _path(api, "/drink300/redeem"), "store", body, **{"Idempotency-Key": f"r{i}"})
        return await api.buy(_sale(api, DRINK, member_id=buyers[i], rewards=["drink300"]))

    answers = await _parallel(8, redeem)
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"reward_out_of_stock"}
    assert await _stock("drink300") == 0
    assert sum([await _balance(api, m) == 0 for m in buyers]) <= 3
    assert (await fetch_one("SELECT COUNT(*) AS n FROM reward_redemption"))["n"] == 3
    assert await ledger_violations() == []


async def test_one_member_redeeming_at_once_keeps_the_limit_and_never_overdraws(any_api):
    api = any_api
    await _reward(api, **GIFT, member_limit=2, limit_period="total")
    await _reward(api, **{**GIFT, "code": "drink-nolimit"})
    await _points(api, 1000)

    async def limited(i):
        return await api.call(
            "POST",
            _path(api, "/drink300/redeem"),
            "pos",
            {"member_id": str(api.shop.member_id)},
            **{"Idempotency-Key": f"l{i}"},
        )

    answers = await _parallel(6, limited)
    assert sorted(a.status_code for a in answers) == [201] * 2 + [409] * 4
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"reward_limit_reached"}
    assert await _balance(api) == 400

    async def unlimited(i):
        if i % 2:
            return await api.buy(_sale(api, DRINK, rewards=["drink-nolimit"]))
        return await api.call(
            "POST",
            _path(api, "/drink-nolimit/redeem"),
            "pos",
            {"member_id": str(api.shop.member_id)},
            **{"Idempotency-Key": f"u{i}"},
        )

    answers = await _parallel(6, unlimited)
    ok = [a for a in answers if a.status_code == 201]
    assert {a.json()["code"] for a in answers if a.status_code != 201} == {"insufficient_points"}
    earned = sum(a.json().get("points_earned", 0) for a in ok)
    assert await _balance(api) == 400 - 300 * len(ok) + earned >= 0
    assert (await fetch_one("SELECT MIN(remaining) AS m FROM points_lot"))["m"] >= 0
    assert await ledger_violations() == []


class VoucherParams(RewardParams, frozen=True):
    """A cash voucher's face value in yuan."""

    yuan: Annotated[int, msgspec.Meta(ge=1, le=1000, title="面额（元）")]


class Voucher(RewardKind):
    """A pack's kind: a cash voucher (代金券)."""

    name, label_zh, label_en = "voucher", "代金券", "cash voucher"
    Params = VoucherParams

    def coupon(self, params):
        return CouponTerms("amount_off", amount_off=params.yuan * 100)


class VoucherPlugin:
    @hookimpl
    def membership_register_reward_kinds(self):
        return [Voucher]


@pytest.mark.parametrize("registered", [True])
async def test_hook_register_reward_kinds(any_api, register_plugin, registered):
    api = any_api
    register_plugin(VoucherPlugin(), name="voucher")
    kinds = {k["kind"]: k for k in (await api.call("GET", "/reward-kinds", "read")).json()}
    assert kinds["voucher"]["label_zh"] == "代金券" and kinds["voucher"]["params_schema"]["required"] == ["yuan"]
    bad = await api.call("POST", _path(api), "admin", {**GIFT, "kind": "voucher", "params": {"yuan": 0}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "params.yuan"
    await _reward(api, **{**GIFT, "code": "v5", "kind": "voucher", "params": {"yuan": 5}, "points": 200})
    await _points(api, 200)
    sold = await api.buy(_sale(api, CAKE, rewards=["v5"]))
    assert sold.status_code == 201 and sold.json()["rewards"][0]["discount"] == 500, sold.text
    await fetch("UPDATE reward SET kind = 'cinema' WHERE code = 'v5'")  # as if its pack were removed
    gone = await api.buy(_sale(api, CAKE, rewards=["v5"]))
    assert gone.status_code == 409 and gone.json()["code"] == "reward_kind_missing"


async def test_a_merge_moves_the_redemptions_and_its_undo_brings_them_back(any_api):
    api = any_api
    await _reward(api, **GIFT, member_limit=2, limit_period="total")
    twin = await members.enrol(
        api.shop.program.id, {"name": "张伟", "phone": "13700001111"}, store_id=api.shop.store_id
    )
    for member_id, key in ((api.shop.member_id, "m1"), (twin.id, "m2")):
        await _points(api, 300, member_id)
        answer = await api.call(
            "POST", _path(api, "/drink300/redeem"), "pos", {"member_id": str(member_id)}, **{"Idempotency-Key": key}
        )
        assert answer.status_code == 201, answer.text
    merge = await merge_members(api.shop.member_id, [twin.id], "同一人两张卡", actor="test")
    held = await api.call("GET", f"/members/{api.shop.member_id}/reward-redemptions", "read")
    assert held.json()["total"] == 2  # the survivor's limit counts the merged member's redemption
    await _points(api, 300)
    refused = await api.call(
        "POST",
        _path(api, "/drink300/redeem"),
        "pos",
        {"member_id": str(api.shop.member_id)},
        **{"Idempotency-Key": "m3"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "reward_limit_reached"
    await undo_merge(merge.id, "分开", actor="test")
    again = await api.call("GET", f"/members/{twin.id}/reward-redemptions", "read")
    assert again.json()["total"] == 1
