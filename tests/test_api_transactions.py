"""POST /transactions, simulate and refund through HTTP: amounts, idempotency, errors."""

from __future__ import annotations

import asyncio
import uuid

from membership.db import fetch
from membership.ledger import idempotency
from tests.helpers import ledger_violations


async def test_purchase_earns_points_and_answers_with_balances(any_api):
    answer = await any_api.buy(any_api.sale(12_345, receipt_no="R-1"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["total"] == 12_345
    assert body["points_earned"] == 123  # 1 point per yuan, rounded down
    assert body["awards"] == [{"rule": "base", "points": 123, "reason": body["awards"][0]["reason"]}]
    assert body["balances"] == {
        "points": 123,
        "points_debt": 0,
        "stored_value": 0,
        "growth": 123,
        "points_pending": 0,
        "stored_value_bonus": 0,
    }
    assert "Idempotent-Replayed" not in answer.headers
    assert await ledger_violations() == []


async def test_same_key_same_body_replays_the_stored_answer(any_api):
    body = any_api.sale(5_000)
    first = await any_api.buy(body, idem="till-1-0001")
    await any_api.buy(any_api.sale(7_000))  # the balances move on meanwhile
    again = await any_api.buy(body, idem="till-1-0001")
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await fetch("SELECT id FROM sale")) == 2


async def test_same_key_other_body_is_refused_with_422(any_api):
    await any_api.buy(any_api.sale(5_000), idem="till-1-0002")
    answer = await any_api.buy(any_api.sale(6_000), idem="till-1-0002")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "idempotency_conflict"


async def test_twenty_concurrent_replays_of_one_key_have_one_effect(any_api):
    body = any_api.sale(9_900)
    answers = await asyncio.gather(*(any_api.buy(body, idem="till-1-0003") for _ in range(20)))
    created = [a for a in answers if a.status_code == 201]
    in_flight = [a for a in answers if a.status_code == 409]
    assert len(created) + len(in_flight) == 20
    assert all(a.json()["code"] == "idempotency_key_in_use" for a in in_flight)
    assert sum("Idempotent-Replayed" not in a.headers for a in created) == 1
    assert len({a.content for a in created}) == 1
    assert len(await fetch("SELECT id FROM sale")) == 1
    assert (
        await fetch(
            "SELECT balance FROM ledger_account WHERE member_id = {} AND kind = 'points'", any_api.shop.member_id
        )
    )[0]["balance"] == 99
    assert await ledger_violations() == []


async def test_a_key_still_in_flight_gets_409(api):
    async with idempotency.in_flight(str(api.shop.program.id), "till-1-0004"):
        answer = await api.buy(api.sale(), idem="till-1-0004")
    assert answer.status_code == 409
    assert answer.json()["code"] == "idempotency_key_in_use"
    assert (await api.buy(api.sale(), idem="till-1-0004")).status_code == 201  # released: now it runs


async def test_paying_with_points_and_stored_value(any_api):
    member = str(any_api.shop.member_id)
    await any_api.buy(any_api.sale(100_000))  # 1000 points
    top = await any_api.call("POST", f"/members/{member}/stored-value/top-up", json={"amount": 5_000})
    assert top.status_code == 201 and top.json()["balances"]["stored_value"] == 5_000
    body = any_api.sale(
        10_000,
        payments=[
            {"method": "points", "points": 300},
            {"method": "stored_value", "amount": 5_000},
            {"method": "cash", "amount": 4_700},
        ],
    )
    answer = await any_api.buy(body)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["points_redeemed"] == 300
    assert result["points_earned"] == 97  # what was paid with points earns nothing
    assert result["balances"]["points"] == 1000 - 300 + 97
    assert result["balances"]["stored_value"] == 0


async def test_insufficient_points_is_409_with_a_message_in_the_request_language(any_api):
    body = any_api.sale(10_000, payments=[{"method": "points", "points": 10_000}])
    answer = await any_api.buy(body)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["code"] == "insufficient_points"
    assert problem["type"] == "urn:membership:problem:insufficient_points"
    assert problem["detail"] == "Not enough points: 10000 requested, 0 available."
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    chinese = await any_api.call("POST", "/transactions", "pos", body, lang="zh-CN,zh;q=0.9", **headers)
    assert chinese.json()["detail"] == "积分不足：需要 10000，可用 0。"
    assert len(await fetch("SELECT id FROM sale")) == 0


async def test_insufficient_stored_value(api):
    body = api.sale(1_000, payments=[{"method": "stored_value", "amount": 1_000}])
    answer = await api.buy(body)
    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_stored_value"


async def test_member_by_card_and_blocked_card(api):
    member = str(api.shop.member_id)
    issued = await api.call("POST", f"/members/{member}/credentials", json={"kind": "card_uid", "value": "04:a1:b2"})
    assert issued.status_code == 201
    body = {**api.sale(2_000), "credential": {"kind": "card_uid", "value": "04A1B2"}}
    del body["member_id"]
    answer = await api.buy(body)
    assert answer.status_code == 201 and answer.json()["member_id"] == member
    blocked = await api.call("POST", f"/credentials/{issued.json()['id']}/block", json={"lost": True})
    assert blocked.json()["state"] == "lost"
    answer = await api.buy(body)
    assert answer.status_code == 409 and answer.json()["code"] == "credential_blocked"
    unknown = await api.buy({**body, "credential": {"kind": "card_uid", "value": "FFFF"}})
    assert unknown.status_code == 404 and unknown.json()["code"] == "credential_not_found"


async def test_simulate_explains_and_writes_nothing(api):
    answer = await api.call("POST", "/transactions/simulate", "read", api.sale(25_000))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["points_earned"] == 250 and result["earning_base"] == 25_000
    assert result["awards"][0]["rule"] == "base" and result["awards"][0]["reason"]
    assert await fetch("SELECT id FROM sale") == []
    assert await fetch("SELECT id FROM ledger_posting") == []


async def test_refund_whole_and_partial_and_too_much(any_api):
    body = any_api.sale(0)
    body["lines"] = [
        {"sku": "A", "quantity": 2, "unit_price": 3_000},
        {"sku": "B", "quantity": 1, "unit_price": 4_000},
    ]
    sale = (await any_api.buy(body)).json()
    partial = await any_api.call(
        "POST",
        f"/transactions/{sale['id']}/refund",
        json={"lines": [{"line_no": 1, "quantity": 1}]},
        **{"Idempotency-Key": "refund-1"},
    )
    assert partial.status_code == 201, partial.text
    assert partial.json()["amount"] == 3_000 and partial.json()["points_reversed"] == 30
    replay = await any_api.call(
        "POST",
        f"/transactions/{sale['id']}/refund",
        json={"lines": [{"line_no": 1, "quantity": 1}]},
        **{"Idempotency-Key": "refund-1"},
    )
    assert replay.content == partial.content and replay.headers["Idempotent-Replayed"] == "true"
    too_much = await any_api.call(
        "POST", f"/transactions/{sale['id']}/refund", json={"lines": [{"line_no": 2, "quantity": 2}]}
    )
    assert too_much.status_code == 409 and too_much.json()["code"] == "refund_exceeds_sale"
    rest = await any_api.call("POST", f"/transactions/{sale['id']}/refund", json={})
    assert rest.status_code == 201 and rest.json()["amount"] == 7_000
    assert rest.json()["balances"]["points"] == 0
    again = await any_api.call("POST", f"/transactions/{sale['id']}/refund", json={})
    assert again.status_code == 409 and again.json()["code"] == "sale_fully_refunded"
    missing = await any_api.call("POST", f"/transactions/{uuid.uuid4()}/refund", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "sale_not_found"
    assert await ledger_violations() == []


async def test_duplicate_receipt_and_unknown_coupon(api):
    assert (await api.buy(api.sale(1_000, receipt_no="R-9"))).status_code == 201
    again = await api.buy(api.sale(1_000, receipt_no="R-9"))
    assert again.status_code == 409 and again.json()["code"] == "duplicate_receipt"
    coupon = await api.buy(api.sale(1_000, coupons=["NOPE"]))
    assert coupon.status_code == 422 and coupon.json()["code"] == "coupon_not_found"


async def test_bad_input_is_422_validation_error_never_500(api):
    bad_bodies = [
        {},
        {"lines": []},
        api.sale(12.5),  # money is never a float
        api.sale(-1),
        {**api.sale(), "surprise": 1},
        {**api.sale(), "member_id": "not-a-uuid"},
        {**api.sale(), "payments": [{"method": "cash", "amount": 1}]},  # does not add up
        {**api.sale(), "occurred_at": "2020-01-01T00:00:00"},  # no offset
        {**api.sale(), "credential": {"kind": "card_uid", "value": "1"}},  # both member and card
        {**api.sale(), "lines": [{"sku": "A", "quantity": 1_000_000, "unit_price": 10_000_000_000}] * 2},  # total
        {**api.sale(100), "payments": [{"method": "points", "points": 100, "amount": 100}]},  # which one?
        {**api.sale(100), "payments": [{"method": "cash", "amount": 100, "points": 5}]},
    ]
    for body in bad_bodies:
        answer = await api.buy(body)
        assert answer.status_code == 422, (body, answer.text)
        problem = answer.json()
        assert problem["code"] == "validation_error", problem
        assert problem["errors"] and problem["detail"]
    garbage = await api.client.post(
        "/api/v1/transactions", content=b"{not json", headers={**api.headers(), "Idempotency-Key": "x"}
    )
    assert garbage.status_code == 400 and garbage.json()["code"] == "bad_request"  # not JSON at all
    missing_sku = await api.buy({**api.sale(), "lines": [{"quantity": 1, "unit_price": 1}]})
    assert missing_sku.json()["errors"][0]["field"] == "lines[0].sku", missing_sku.text
    no_key = await api.call("POST", "/transactions", "pos", api.sale())
    assert no_key.status_code == 422 and no_key.json()["errors"][0]["field"] == "Idempotency-Key"
