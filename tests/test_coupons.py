"""Coupons (优惠券) through the real API: templates, issuing by hand and by trigger, redemption at
the till with errors that say why, stacking, refunds giving coupons back, the expiry and birthday
jobs, QR codes and the per-template report. SQL that differs between engines runs on SQLite and
PostgreSQL (``any_api``)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
import segno

from membership.coupons import jobs as coupon_jobs
from membership.coupons import service as coupons
from membership.coupons.discounts import HeldCoupon, evaluate
from membership.db import execute, fetch, fetch_one, use_case
from membership.errors import CouponNotStackable, ValidationError
from membership.jobs import runner
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org import service as org
from tests.helpers import ledger_violations, make_shop

ZONE = ZoneInfo("Asia/Shanghai")
TEN_OFF = {"code": "ten-off", "name": "满100减10", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}


def _today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def _at(day: dt.date, clock: str) -> str:
    """An ISO time on ``day`` in the program's zone (+08:00)."""
    return f"{day.isoformat()}T{clock}+08:00"


async def _template(api, **fields) -> dict:
    answer = await api.call("POST", f"/programs/{api.shop.program.id}/coupon-templates", "admin", fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _issue(api, template: str, *member_ids: uuid.UUID) -> list[str]:
    ids = [str(m) for m in (member_ids or [api.shop.member_id])]
    path = f"/programs/{api.shop.program.id}/coupon-templates/{template}/issue"
    answer = await api.call("POST", path, "admin", {"member_ids": ids})
    assert answer.status_code == 201, answer.text
    return [c["code"] for c in answer.json()["issued"]]


def _lines(*lines: tuple[str, int, int]) -> list[dict]:
    return [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines]


def _body(api, coupons_: list[str], amount: int = 10_000, **extra) -> dict:
    return api.sale(amount, coupons=coupons_, **extra)


async def _state(code: str) -> str:
    return (await fetch_one("SELECT state FROM coupon WHERE code = {}", code))["state"]


# --- the discount each kind gives, and the minimum spend boundary -----------------------------------

SCENARIOS = [
    # template fields, lines (sku, quantity, unit price), discount or the error code
    ({"kind": "amount_off", "amount_off": 1_000}, [("A", 1, 10_000)], 1_000),
    ({"kind": "amount_off", "amount_off": 5_000}, [("A", 1, 3_000)], 3_000),  # never below zero
    ({"kind": "percent_off", "percent_off": 15}, [("A", 1, 9_999)], 1_499),  # rounded down
    ({"kind": "percent_off", "percent_off": 15, "max_off": 1_000}, [("A", 1, 10_000)], 1_000),  # capped
    ({"kind": "free_item", "free_sku": "LATTE"}, [("LATTE", 2, 2_800), ("LATTE", 1, 2_500), ("B", 1, 1_500)], 2_500),
    ({"kind": "free_item", "free_sku": "LATTE"}, [("B", 1, 1_500)], "coupon_item_missing"),
    ({"kind": "amount_off", "amount_off": 1_000, "min_spend": 10_000}, [("A", 2, 5_000)], 1_000),  # exactly: ok
    ({"kind": "amount_off", "amount_off": 1_000, "min_spend": 10_000}, [("A", 1, 9_999)], "coupon_min_spend"),
]


@pytest.mark.parametrize(("fields", "lines", "expected"), SCENARIOS)
async def test_each_kind_takes_off_what_it_says_and_refusals_say_why(api, fields, lines, expected):
    await _template(api, code="t", name="券", valid_days=7, **fields)
    (code,) = await _issue(api, "t")
    body = {**api.sale(), "lines": _lines(*lines), "coupons": [code]}
    subtotal = sum(q * p for _, q, p in lines)
    answer = await api.buy(body)
    if isinstance(expected, str):
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == expected
        assert code in answer.json()["detail"]
        assert await _state(code) == "issued" and await fetch("SELECT id FROM sale") == []
        return
    assert answer.status_code == 201, answer.text
    sale = answer.json()
    assert (sale["subtotal"], sale["discount"], sale["total"]) == (subtotal, expected, subtotal - expected)
    assert sale["coupons"] == [
        {"code": code, "template": "t", "name": "券", "kind": fields["kind"], "discount": expected}
    ]
    assert sale["points_earned"] == (subtotal - expected) // 100  # the base is what was paid
    row = await fetch_one("SELECT state, sale_id, discount, store_id FROM coupon WHERE code = {}", code)
    assert (row["state"], str(row["sale_id"]), row["discount"]) == ("redeemed", sale["id"], expected)
    stored = await fetch_one("SELECT total, subtotal, discount FROM sale WHERE id = {}", sale["id"])
    assert stored == {"total": subtotal - expected, "subtotal": subtotal, "discount": expected}
    assert await ledger_violations() == []


async def test_the_minimum_spend_refusal_names_both_amounts_in_either_language(api):
    await _template(api, **{**TEN_OFF, "min_spend": 10_000})
    (code,) = await _issue(api, "ten-off")
    en = await api.buy(_body(api, [code], 9_999))
    assert en.json()["detail"] == (
        f"Coupon {code} needs a spend of at least 100.00 CNY; this sale's lines total 99.99 CNY."
    )
    zh = await api.call(
        "POST", "/transactions", "pos", _body(api, [code], 9_999), lang="zh", **{"Idempotency-Key": "z"}
    )
    assert zh.json()["detail"] == f"优惠券 {code} 需消费满 100.00 CNY 方可使用，本单商品合计 99.99 CNY。"


# --- validity, store, member, state -----------------------------------------------------------------


async def test_validity_dates_are_inclusive_and_local_to_the_program(api):
    await org.update_settings(api.shop.program.id, {"backdate_days": 14})  # sales dated up to 11 days back
    await _template(api, **TEN_OFF)
    codes = await _issue(api, "ten-off")
    codes += await _issue(api, "ten-off")
    codes += await _issue(api, "ten-off")
    first, last = _today() - dt.timedelta(days=10), _today() - dt.timedelta(days=5)
    await execute("UPDATE coupon SET valid_from = {}, valid_until = {}", first, last)
    cases = [
        (_at(first - dt.timedelta(days=1), "23:59:59"), "coupon_not_yet_valid"),
        (_at(first, "00:30:00"), 201),  # still the day before in UTC
        (_at(last, "23:30:00"), 201),
        (_at(last + dt.timedelta(days=1), "00:30:00"), "coupon_expired"),  # still the last day in UTC
    ]
    for (when, expected), code in zip(cases, [codes[0], codes[0], codes[1], codes[2]], strict=True):
        answer = await api.buy(_body(api, [code], occurred_at=when))
        if expected == 201:
            assert answer.status_code == 201, (when, answer.text)
        else:
            assert answer.status_code == 409 and answer.json()["code"] == expected, (when, answer.text)
    assert first.isoformat() in (await api.buy(_body(api, [codes[2]], occurred_at=cases[0][0]))).json()["detail"]


async def test_store_scope_other_member_used_and_void_coupons_are_refused(api):
    shop = api.shop
    await _template(api, **{**TEN_OFF, "code": "s2", "store_ids": [str(shop.other_store_id)]})
    await _template(api, **TEN_OFF)
    (s2,) = await _issue(api, "s2")
    wrong_store = await api.buy(_body(api, [s2]))
    assert wrong_store.status_code == 409 and wrong_store.json()["code"] == "coupon_wrong_store"
    right_store = await api.buy(_body(api, [s2], store_id=str(shop.other_store_id)))
    assert right_store.status_code == 201, right_store.text

    other = await members.enrol(shop.program.id, {"name": "李娜"})
    (theirs,) = await _issue(api, "ten-off", other.id)
    refused = await api.buy(_body(api, [theirs]))
    assert refused.status_code == 409 and refused.json()["code"] == "coupon_other_member"
    assert refused.json()["detail"] == f"Coupon {theirs} belongs to another member."

    (mine,) = await _issue(api, "ten-off")
    first = await api.buy(_body(api, [mine.lower()[:4] + "-" + mine.lower()[4:]]))  # typed loosely
    assert first.status_code == 201 and first.json()["coupons"][0]["code"] == mine
    second = await api.buy(_body(api, [mine]))
    assert second.status_code == 409 and second.json()["code"] == "coupon_redeemed"
    assert first.json()["id"] in second.json()["detail"]

    (voided,) = await _issue(api, "ten-off")
    void = await api.call("POST", f"/coupons/{voided}/void", "admin", {"reason": "发错"})
    assert void.status_code == 200 and void.json()["state"] == "void"
    again = await api.call("POST", f"/coupons/{voided}/void", "admin", {"reason": "发错"})
    assert again.status_code == 409 and again.json()["code"] == "coupon_void"
    used = await api.buy(_body(api, [voided]))
    assert used.status_code == 409 and used.json()["code"] == "coupon_void"
    assert (await api.call("POST", f"/coupons/{voided}/void", "pos", {"reason": "x"})).status_code == 403
    unknown = await api.buy(_body(api, ["NOPE"]))
    assert unknown.status_code == 422 and unknown.json()["code"] == "coupon_not_found"
    twice = await api.buy(_body(api, [mine, mine.lower()]))
    assert twice.status_code == 422 and "more than once" in twice.json()["detail"]


# --- stacking -------------------------------------------------------------------------------------


async def test_stackable_coupons_combine_in_a_fixed_order_and_a_non_stackable_one_stands_alone(api):
    await _template(api, code="five", name="减5元", kind="amount_off", amount_off=500, valid_days=7, stackable=True)
    await _template(api, code="tenpct", name="九折", kind="percent_off", percent_off=10, valid_days=7, stackable=True)
    await _template(api, code="solo", name="减20元", kind="amount_off", amount_off=2_000, valid_days=7)
    (five,), (pct,), (solo,) = [await _issue(api, t) for t in ("five", "tenpct", "solo")]
    sim = await api.call("POST", "/transactions/simulate", "pos", _body(api, [pct, five]))
    assert sim.status_code == 200, sim.text
    # the amount comes off first, then 10 % of what is left: 500 + 950, whatever the order given
    assert [(c["code"], c["discount"]) for c in sim.json()["coupons"]] == [(pct, 950), (five, 500)]
    assert (sim.json()["discount"], sim.json()["total"], sim.json()["points_earned"]) == (1_450, 8_550, 85)
    assert await _state(pct) == await _state(five) == "issued"  # a simulation uses nothing

    mixed = await api.buy(_body(api, [five, solo]))
    assert mixed.status_code == 409 and mixed.json()["code"] == "coupon_not_stackable"
    assert solo in mixed.json()["detail"]
    assert {await _state(c) for c in (five, solo)} == {"issued"}
    both = await api.buy(_body(api, [five, pct]))
    assert both.status_code == 201 and both.json()["discount"] == 1_450
    alone = await api.buy(_body(api, [solo]))
    assert alone.status_code == 201 and alone.json()["discount"] == 2_000


def test_the_discount_does_not_depend_on_the_order_codes_are_given():
    member, store, today = uuid.uuid4(), uuid.uuid4(), dt.date(2026, 6, 1)

    def held(code: str, kind: str, **terms) -> HeldCoupon:
        window = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        return HeldCoupon(
            uuid.uuid4(), code, member, "issued", *window, None, code, code, kind, stackable=True, **terms
        )

    coupons_ = [
        held("PCT", "percent_off", percent_off=20, max_off=1_500),
        held("AMT", "amount_off", amount_off=700),
        held("FREE", "free_item", free_sku="X"),
    ]
    lines = [LineInput("X", 1, 1_000), LineInput("Y", 1, 9_000)]
    forward = {a.code: a.discount for a in evaluate(coupons_, member, store, today, lines)}
    backward = {a.code: a.discount for a in evaluate(coupons_[::-1], member, store, today, lines)}
    assert forward == backward == {"FREE": 1_000, "AMT": 700, "PCT": 1_500}  # 20 % of 8,300 = 1,660 → cap
    solo = [dataclasses.replace(coupons_[0], stackable=False), coupons_[1]]
    with pytest.raises(CouponNotStackable):
        evaluate(solo, member, store, today, lines)


# --- payments, points, idempotency, concurrency --------------------------------------------------------


async def test_payments_add_up_to_the_total_after_discount_and_points_earn_on_what_was_paid(api):
    await _template(api, **{**TEN_OFF, "amount_off": 2_000})
    (code,) = await _issue(api, "ten-off")
    full = await api.buy(_body(api, [code], payments=[{"method": "card", "amount": 10_000}]))
    assert full.status_code == 422 and full.json()["code"] == "validation_error"
    assert "less 2000 coupon discount, is 8000" in full.json()["detail"]
    assert await _state(code) == "issued"
    paid = await api.buy(_body(api, [code], payments=[{"method": "card", "amount": 8_000}]))
    assert paid.status_code == 201, paid.text
    assert (paid.json()["total"], paid.json()["points_earned"], paid.json()["growth_earned"]) == (8_000, 80, 80)
    payments = await fetch("SELECT method, amount FROM sale_payment WHERE sale_id = {}", paid.json()["id"])
    assert payments == [{"method": "card", "amount": 8_000}]


async def test_an_idempotent_replay_uses_the_coupon_once(any_api):
    api = any_api
    await _template(api, **TEN_OFF)
    (code,) = await _issue(api, "ten-off")
    body = _body(api, [code])
    first = await api.buy(body, idem="till-1-coupon")
    again = await api.buy(body, idem="till-1-coupon")
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content
    assert len(await fetch("SELECT id FROM sale")) == 1
    assert (await fetch_one("SELECT state, sale_id FROM coupon WHERE code = {}", code))["state"] == "redeemed"
    other = await api.buy({**body, "receipt_no": "R-2"}, idem="till-1-coupon")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"


async def test_two_tills_racing_for_one_coupon_one_wins(any_api):
    api = any_api
    await _template(api, **TEN_OFF)
    (code,) = await _issue(api, "ten-off")
    answers = await asyncio.gather(*(api.buy(_body(api, [code], 10_000 + n)) for n in range(4)))
    won = [a for a in answers if a.status_code == 201]
    lost = [a for a in answers if a.status_code != 201]
    assert len(won) == 1, [a.text for a in answers]
    assert all(a.status_code == 409 and a.json()["code"] == "coupon_redeemed" for a in lost)
    assert len(await fetch("SELECT id FROM sale")) == 1
    row = await fetch_one("SELECT state, sale_id FROM coupon WHERE code = {}", code)
    assert row["state"] == "redeemed" and str(row["sale_id"]) == won[0].json()["id"]
    assert await ledger_violations() == []


# --- refunds ---------------------------------------------------------------------------------------


async def test_refunds_spread_the_discount_and_a_whole_refund_gives_the_coupon_back(any_api):
    api = any_api
    await _template(api, **TEN_OFF)
    (code,) = await _issue(api, "ten-off")
    body = {**api.sale(), "lines": _lines(("A", 1, 6_000), ("B", 1, 4_000)), "coupons": [code]}
    sale = (await api.buy(body)).json()
    assert (sale["total"], sale["points_earned"]) == (9_000, 90)
    path = f"/transactions/{sale['id']}/refund"
    partial = await api.call("POST", path, json={"lines": [{"line_no": 2, "quantity": 1}]})
    assert partial.status_code == 201, partial.text
    assert (partial.json()["amount"], partial.json()["points_reversed"]) == (3_600, 36)  # 40 % of 9,000 paid
    assert partial.json()["coupons_returned"] == [] and await _state(code) == "redeemed"
    rest = await api.call("POST", path, json={})
    assert (rest.json()["amount"], rest.json()["coupons_returned"]) == (5_400, [code])
    assert rest.json()["balances"]["points"] == 0
    row = await fetch_one("SELECT state, sale_id, discount, redeemed_at FROM coupon WHERE code = {}", code)
    assert row == {"state": "issued", "sale_id": None, "discount": 0, "redeemed_at": None}
    again = await api.buy(_body(api, [code]))
    assert again.status_code == 201 and again.json()["discount"] == 1_000

    await execute("UPDATE coupon SET valid_until = {} WHERE code = {}", _today() - dt.timedelta(days=1), code)
    late = await api.call("POST", f"/transactions/{again.json()['id']}/refund", json={})
    assert late.json()["coupons_returned"] == [] and await _state(code) == "expired"
    audit = await fetch("SELECT action, object_id FROM audit_log WHERE action = 'coupon.return'")
    assert audit == [{"action": "coupon.return", "object_id": code}] * 2
    assert await ledger_violations() == []


# --- issuing ----------------------------------------------------------------------------------------


async def test_manual_issue_respects_the_per_member_limit_and_refuses_strangers(api):
    shop = api.shop
    await _template(api, **{**TEN_OFF, "per_member_limit": 2})
    other = await members.enrol(shop.program.id, {"name": "李娜"})
    path = f"/programs/{shop.program.id}/coupon-templates/ten-off/issue"
    ids = [str(shop.member_id), str(other.id), str(shop.member_id)]  # a repeated id counts once
    first = (await api.call("POST", path, "admin", {"member_ids": ids})).json()
    assert len(first["issued"]) == 2 and first["skipped"] == []
    await api.call("POST", path, "admin", {"member_ids": [str(shop.member_id)]})
    third = (await api.call("POST", path, "admin", {"member_ids": ids[:2]})).json()
    assert [c["member_id"] for c in third["issued"]] == [str(other.id)]
    assert third["skipped"] == [str(shop.member_id)]
    codes = [c["code"] for c in first["issued"] + third["issued"]]
    assert all(len(c) == 12 and not set(c) & set("01OI") for c in codes)
    assert first["issued"][0]["valid_until"] == (_today() + dt.timedelta(days=29)).isoformat()

    stranger = await api.call("POST", path, "admin", {"member_ids": [str(uuid.uuid4())]})
    assert stranger.status_code == 404 and stranger.json()["code"] == "member_not_found"
    assert (await api.call("POST", path, "pos", {"member_ids": ids[:1]})).status_code == 403
    await api.call("DELETE", f"/programs/{shop.program.id}/coupon-templates/ten-off", "admin")
    retired = await api.call("POST", path, "admin", {"member_ids": [str(other.id)]})
    assert retired.status_code == 409 and retired.json()["code"] == "coupon_template_retired"
    audit = await fetch("SELECT action, details FROM audit_log WHERE action LIKE 'coupon%' ORDER BY occurred_at")
    assert [a["action"] for a in audit] == ["coupon_template.create"] + ["coupon.issue"] * 3 + [
        "coupon_template.retire"
    ]


async def test_trigger_issuing_is_idempotent_per_occasion(any_api):
    api = any_api
    program_id, member_id = api.shop.program.id, api.shop.member_id
    path = f"/programs/{program_id}/coupon-templates"
    upgrade = {**TEN_OFF, "code": "gold", "issue_on": "tier_upgrade", "tier": "gold"}
    no_tier = await api.call("POST", path, "admin", upgrade)
    assert no_tier.status_code == 422 and no_tier.json()["errors"][0]["field"] == "tier"  # no gold tier yet
    levels = [{"code": "silver", "name": "银卡", "threshold": 100}, {"code": "gold", "name": "金卡", "threshold": 1000}]
    assert (await api.call("PUT", f"/programs/{program_id}/tiers", "admin", {"tiers": levels})).status_code == 200
    await _template(api, **{**TEN_OFF, "code": "welcome", "issue_on": "sign_up"})
    await _template(api, **upgrade)
    await _template(api, **{**TEN_OFF, "code": "any-tier", "issue_on": "tier_upgrade"})
    await _template(api, **{**TEN_OFF, "code": "silver", "issue_on": "tier_upgrade", "tier": "silver"})
    await _template(api, **{**TEN_OFF, "code": "thanks", "issue_on": "referral"})
    await _template(api, **{**TEN_OFF, "code": "gold-gift"})  # a manual template a tier names
    friend = await members.enrol(program_id, {"name": "王芳"})  # enrolment itself issues her "welcome"

    @use_case
    async def enrolment_flow():  # how a caller's flow uses it: inside its own transaction
        welcome = await coupons.issue_by_trigger(program_id, member_id, "sign_up")
        thanks = await coupons.issue_by_trigger(program_id, member_id, "referral", referred_member_id=friend.id)
        return welcome + thanks

    assert [c["template"] for c in await enrolment_flow()] == ["welcome", "thanks"]
    assert await enrolment_flow() == []  # retried: nothing new
    named = ["gold-gift", "no-such-template"]  # e.g. the tier's upgrade_coupons; unknown ones are skipped
    gold = await coupons.issue_by_trigger(program_id, member_id, "tier_upgrade", tier="gold", templates=named)
    assert sorted(c["template"] for c in gold) == ["any-tier", "gold", "gold-gift"]
    assert await coupons.issue_by_trigger(program_id, member_id, "tier_upgrade", tier="gold", templates=named) == []
    assert await coupons.issue_by_trigger(program_id, member_id, "birthday") == []  # no birthday template
    rows = await fetch("SELECT occasion FROM coupon ORDER BY occasion")
    assert [r["occasion"] for r in rows] == [
        "referral:" + str(friend.id),
        "sign_up",
        "sign_up",
        "tier_upgrade:gold",
        "tier_upgrade:gold",
        "tier_upgrade:gold",
    ]
    with pytest.raises(ValidationError):
        await coupons.issue_by_trigger(program_id, member_id, "referral")
    with pytest.raises(ValidationError):
        await coupons.issue_by_trigger(program_id, member_id, "manual")


# --- jobs -------------------------------------------------------------------------------------------


async def test_the_expiry_job_expires_what_is_past_and_twice_changes_nothing(any_api):
    api = any_api
    await _template(api, **TEN_OFF)
    codes = await _issue(api, "ten-off") + await _issue(api, "ten-off") + await _issue(api, "ten-off")
    await execute("UPDATE coupon SET valid_until = {} WHERE code = {}", _today() - dt.timedelta(days=1), codes[0])
    await execute("UPDATE coupon SET valid_until = {} WHERE code = {}", _today(), codes[1])  # its last day: kept
    listed = await api.call("GET", f"/members/{api.shop.member_id}/coupons", "read", params={"only": "issued"})
    assert sorted(c["code"] for c in listed.json()["items"]) == sorted(codes[1:])  # usable ones only
    first = await runner.run_job("expire-coupons")
    assert (first.result.processed, first.result.summary) == (1, "优惠券过期 1 张 / coupons expired: 1")
    assert (await runner.run_job("expire-coupons")).result.processed == 0
    assert [await _state(c) for c in codes] == ["expired", "issued", "issued"]


async def test_the_birthday_job_grants_once_a_year_on_the_day_or_in_the_month(any_api):
    api = any_api
    program_id = api.shop.program.id
    today = _today()
    await _template(api, **{**TEN_OFF, "code": "bday", "issue_on": "birthday"})
    await _template(api, **{**TEN_OFF, "code": "bmonth", "issue_on": "birthday", "birthday_window": "month"})
    born_today = await members.enrol(program_id, {"name": "寿星", "birthday": today.replace(year=1990)})
    other_day = today.replace(day=1 if today.day != 1 else 2, year=1990)
    this_month = await members.enrol(program_id, {"name": "同月", "birthday": other_day})
    first = await runner.run_job("grant-birthday-coupons")
    assert first.result.processed == 3
    held = await fetch(
        "SELECT t.code, c.member_id, c.occasion FROM coupon c JOIN coupon_template t ON t.id = c.template_id"
    )
    assert sorted((r["code"], str(r["member_id"])) for r in held) == sorted(
        [("bday", str(born_today.id)), ("bmonth", str(born_today.id)), ("bmonth", str(this_month.id))]
    )
    assert {r["occasion"] for r in held} == {f"birthday:{today.year}"}
    assert (await runner.run_job("grant-birthday-coupons")).result.processed == 0


async def test_lunar_and_29_february_birthdays(any_api):
    api = any_api
    program_id = api.shop.program.id
    await _template(api, **{**TEN_OFF, "code": "bday", "issue_on": "birthday"})
    lunar = await members.enrol(  # 农历 1990 正月初一 = 1990-01-27; in 2026 it falls on 17 February
        program_id, {"name": "春节生", "birthday": dt.date(1990, 1, 27), "birthday_calendar": "lunar"}
    )
    leap = await members.enrol(program_id, {"name": "闰日生", "birthday": dt.date(2000, 2, 29)})
    await members.enrol(program_id, {"name": "公历", "birthday": dt.date(1990, 1, 27)})  # not today

    async def granted(day: dt.date) -> list[str]:
        now = dt.datetime.combine(day, dt.time(0, 15), ZONE).astimezone(dt.UTC)
        await coupon_jobs.grant_birthday_coupons(now, lambda done, total: None)
        rows = await fetch("SELECT member_id FROM coupon WHERE occasion = {}", f"birthday:{day.year}")
        return sorted(str(r["member_id"]) for r in rows)

    assert await granted(dt.date(2026, 2, 17)) == [str(lunar.id)]
    assert await granted(dt.date(2026, 2, 28)) == sorted([str(lunar.id), str(leap.id)])
    assert await granted(dt.date(2026, 2, 28)) == sorted([str(lunar.id), str(leap.id)])  # once a year


# --- reading: templates, a member's coupons, one coupon, QR, report -------------------------------------


async def test_templates_are_listed_changed_and_bad_ones_refused_with_the_field(api):
    path = f"/programs/{api.shop.program.id}/coupon-templates"
    await _template(api, **TEN_OFF)
    await _template(api, code="pct", name="八折", kind="percent_off", percent_off=20, max_off=3_000, valid_days=7)
    page = (await api.call("GET", path, "read", params={"page_size": 1})).json()
    assert (page["total"], [t["code"] for t in page["items"]]) == (2, ["pct"])
    mismatch = await api.call("PUT", f"{path}/ten-off", "admin", {**TEN_OFF, "amount_off": 1_500, "code": "x"})
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "code"
    changed = await api.call("PUT", f"{path}/ten-off", "admin", {**TEN_OFF, "amount_off": 1_500})
    assert changed.status_code == 200 and (changed.json()["code"], changed.json()["amount_off"]) == ("ten-off", 1_500)
    assert (await api.call("DELETE", f"{path}/pct", "admin")).status_code == 204
    assert [t["code"] for t in (await api.call("GET", path, "read")).json()["items"]] == ["ten-off"]
    retired = (await api.call("GET", path, "read", params={"include_retired": "true"})).json()["items"]
    assert {t["code"]: t["active"] for t in retired} == {"pct": False, "ten-off": True}

    bad = [
        ({**TEN_OFF, "code": "a", "amount_off": 0}, "amount_off"),
        ({**TEN_OFF, "code": "b", "kind": "percent_off", "amount_off": 0}, "percent_off"),
        ({**TEN_OFF, "code": "c", "valid_days": None}, "valid_until"),
        ({**TEN_OFF, "code": "d", "valid_from": "2026-12-31", "valid_until": "2026-12-01"}, "valid_until"),
        ({**TEN_OFF, "code": "e", "tier": "gold"}, "tier"),
        ({**TEN_OFF, "code": "e2", "issue_on": "tier_upgrade", "tier": "platinum"}, "tier"),  # no such tier
        ({**TEN_OFF, "code": "e3", "valid_days": None, "valid_until": "2020-01-01"}, "valid_until"),  # past
        ({**TEN_OFF, "code": "f", "kind": "free_item", "amount_off": 0}, "free_sku"),
        ({**TEN_OFF, "code": "ten-off"}, "code"),
    ]
    for body, field in bad:
        answer = await api.call("POST", path, "admin", body)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, (body, answer.text)
    wrong_store = await api.call("POST", path, "admin", {**TEN_OFF, "code": "g", "store_ids": [str(uuid.uuid4())]})
    assert wrong_store.status_code == 404 and wrong_store.json()["code"] == "store_not_found"
    assert (await api.call("POST", path, "pos", {**TEN_OFF, "code": "h"})).status_code == 403
    missing = await api.call("GET", f"{path}/nope", "read")
    assert missing.status_code == 404 and missing.json()["code"] == "coupon_template_not_found"
    audit = await fetch("SELECT action FROM audit_log WHERE action LIKE 'coupon_template.%' ORDER BY occurred_at")
    assert [a["action"] for a in audit] == ["coupon_template.create"] * 2 + [
        "coupon_template.change",
        "coupon_template.retire",
    ]


async def test_one_coupon_by_code_its_qr_code_and_another_merchants_keys_see_nothing(api):
    await _template(api, **TEN_OFF)
    (code,) = await _issue(api, "ten-off")
    one = await api.call("GET", f"/coupons/{code.lower()}", "read")
    assert one.status_code == 200 and (one.json()["code"], one.json()["state"]) == (code, "issued")
    assert one.json()["amount_off"] == 1_000 and one.json()["member_id"] == str(api.shop.member_id)

    svg = await api.call("GET", f"/coupons/{code}/qr.svg", "read")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    expected = io.BytesIO()
    segno.make_qr(code, error="m").save(expected, kind="svg", scale=8, border=4, title=code, unit="px")
    assert svg.content == expected.getvalue() and f"<title>{code}</title>".encode() in svg.content
    png = await api.call("GET", f"/coupons/{code}/qr.png", "read")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")

    elsewhere = await make_shop()
    program = await org.get_program(elsewhere.program.id)
    await coupons.create_template(program.id, {**TEN_OFF})
    theirs = (await coupons.issue(program.id, "ten-off", [elsewhere.member_id])).issued[0]["code"]
    for path in (f"/coupons/{theirs}", f"/coupons/{theirs}/qr.svg"):
        answer = await api.call("GET", path, "read")
        assert answer.status_code == 404 and answer.json()["code"] == "coupon_code_not_found", path
    at_our_till = await api.buy(_body(api, [theirs]))
    assert at_our_till.status_code == 422 and at_our_till.json()["code"] == "coupon_not_found"


async def test_the_report_counts_each_template_exactly(any_api):
    api = any_api
    program_id = api.shop.program.id
    await _template(api, **{**TEN_OFF, "amount_off": 1_250})
    await _template(api, code="unused", name="未发", kind="percent_off", percent_off=10, valid_days=7)
    codes = [(await _issue(api, "ten-off"))[0] for _ in range(5)]
    for code in codes[:2]:
        assert (await api.buy(_body(api, [code]))).status_code == 201
    await api.call("POST", f"/coupons/{codes[2]}/void", "admin", {"reason": "测试"})
    await execute("UPDATE coupon SET valid_until = {} WHERE code = {}", _today() - dt.timedelta(days=1), codes[3])
    await runner.run_job("expire-coupons")
    report = (await api.call("GET", f"/programs/{program_id}/coupon-report", "read")).json()
    assert report["total"] == 2
    assert report["items"] == [
        {
            "template": "ten-off",
            "name": "满100减10",
            "kind": "amount_off",
            "issue_on": "manual",
            "active": True,
            "issued": 5,
            "outstanding": 1,
            "redeemed": 2,
            "expired": 1,
            "voided": 1,
            "redemption_rate": 0.5,  # 2 of the 4 not voided
            "discount_total": 2_500,
        },
        {
            "template": "unused",
            "name": "未发",
            "kind": "percent_off",
            "issue_on": "manual",
            "active": True,
            "issued": 0,
            "outstanding": 0,
            "redeemed": 0,
            "expired": 0,
            "voided": 0,
            "redemption_rate": 0.0,
            "discount_total": 0,
        },
    ]
    one = await api.call("GET", f"/programs/{program_id}/coupon-templates/ten-off/report", "read")
    assert one.json() == report["items"][0]
    mine = await api.call("GET", f"/members/{api.shop.member_id}/coupons", "read", params={"page_size": 2})
    assert mine.json()["total"] == 5 and len(mine.json()["items"]) == 2
    for only, expected in (("redeemed", 2), ("void", 1), ("expired", 1), ("issued", 1)):
        listed = await api.call("GET", f"/members/{api.shop.member_id}/coupons", "read", params={"only": only})
        assert listed.json()["total"] == expected and {c["state"] for c in listed.json()["items"]} == {only}
