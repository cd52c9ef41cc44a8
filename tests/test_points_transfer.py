"""Points transfers between members of one program, through the API on SQLite and PostgreSQL:
the program's limits, both ledgers through one balanced posting keeping the points' expiry,
idempotent, audited, reversible by an admin (spent points become the receiver's debt, expired
ones are not taken back); and on PostgreSQL a transfer racing a redemption never overdraws."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from membership.db import fetch, fetch_one
from membership.errors import InsufficientPoints
from membership.ledger import service as ledger
from membership.ledger import transfer
from membership.members import service as members
from membership.org.settings import change_settings
from tests.helpers import ledger_violations, make_shop

RECEIVER_PHONE = "13912345678"


async def _receiver(api) -> uuid.UUID:
    answer = await api.call("POST", "/members", json={"name": "李娜", "phone": RECEIVER_PHONE})
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def _allow(api, **limits) -> None:
    answer = await api.call(
        "PATCH", f"/programs/{api.shop.program.id}/settings", "admin", {"points_transfer": True, **limits}
    )
    assert answer.status_code == 200, answer.text


async def _give(api, points: int, key: str | None = None, lang: str = "en", **body):
    data = {"points": points, "to": {"kind": "phone", "value": RECEIVER_PHONE}, **body}
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    path = f"/members/{api.shop.member_id}/points-transfers"
    return await api.call("POST", path, "pos", data, lang=lang, **headers)


async def test_a_transfer_moves_points_with_their_expiry_once_per_key(any_api):
    api = any_api
    receiver = await _receiver(api)
    await api.buy(api.sale(120_000))  # 1,200 points, expiring in 365 days
    refused = await _give(api, 500, lang="zh")
    assert refused.status_code == 409 and refused.json()["code"] == "transfer_not_allowed", refused.text
    assert "本会员方案未开放积分转赠" in refused.json()["detail"]
    await _allow(api)
    given = await _give(api, 500, key="gift-1", reason="送给家人")
    assert given.status_code == 201, given.text
    body = given.json()
    assert body["from_balances"]["points"] == 700 and body["to_balances"]["points"] == 500
    again = await _give(api, 500, key="gift-1", reason="送给家人")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == body["id"]
    lots = await fetch(
        "SELECT l.expires_at, l.store_id, a.member_id FROM points_lot l JOIN ledger_account a ON a.id = l.account_id"
        " WHERE a.kind = 'points' ORDER BY a.member_id = {}",
        receiver,
    )
    assert lots[0]["expires_at"] == lots[1]["expires_at"] and lots[0]["store_id"] == lots[1]["store_id"]
    entries = await fetch("SELECT e.amount, e.rule FROM ledger_entry e WHERE e.posting_id = {}", body["posting_id"])
    assert sorted((e["rule"], e["amount"]) for e in entries) == [("transfer_in", 500), ("transfer_out", -500)]
    for member in (api.shop.member_id, receiver):
        listed = await api.call("GET", f"/members/{member}/points-transfers", "read")
        assert [t["points"] for t in listed.json()["items"]] == [500] and listed.json()["total"] == 1
    record = await api.call("GET", f"/points-transfers/{body['id']}", "read")
    assert record.json()["reason"] == "送给家人" and record.json()["reversed_at"] is None
    audited = await fetch("SELECT actor FROM audit_log WHERE action = 'points.transfer'")
    assert len(audited) == 1 and audited[0]["actor"]
    assert await ledger_violations() == []


async def test_the_programs_limits_per_transfer_and_per_day(any_api):
    api = any_api
    await _receiver(api)
    await api.buy(api.sale(500_000))
    await _allow(api, transfer_min_points=10, transfer_max_points=1_000, transfer_daily_max_points=1_500)
    cases = [(5, "at least 10 points"), (1_001, "at most 1000 points a transfer")]
    for points, said in cases:
        answer = await _give(api, points)
        assert answer.status_code == 409 and said in answer.json()["detail"], answer.text
    assert (await _give(api, 1_000)).status_code == 201
    second = await _give(api, 500)
    assert second.status_code == 201
    over = await _give(api, 10, lang="zh")
    assert over.status_code == 409 and "每天最多转出 1500 积分（今天已转出 1500）" in over.json()["detail"]
    reversed_ = await api.call(
        "POST", f"/points-transfers/{second.json()['id']}/reverse", "admin", {"reason": "误操作"}
    )
    assert reversed_.status_code == 201, reversed_.text
    assert (await _give(api, 10)).status_code == 201  # a reversed transfer does not count
    short = await api.call(
        "POST",
        f"/members/{api.shop.member_id}/points-transfers",
        "pos",
        {"points": 1_000, "to_member_id": str(api.shop.member_id)},
        **{"Idempotency-Key": "self"},
    )
    assert short.status_code == 422  # not to oneself


async def test_more_than_the_spendable_points_is_refused(any_api):
    api = any_api
    await _receiver(api)
    await _allow(api)
    await api.buy(api.sale(10_000))
    answer = await _give(api, 101)
    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_points"
    assert (await ledger.balances(api.shop.member_id)).points == 100


async def test_an_admin_reverses_a_transfer_spent_points_become_debt(any_api):
    api = any_api
    receiver = await _receiver(api)
    await _allow(api)
    await api.buy(api.sale(100_000))
    given = (await _give(api, 600)).json()
    await ledger.redeem_points(receiver, 450, reason="兑换")  # the receiver spent most of it
    path = f"/points-transfers/{given['id']}/reverse"
    assert (await api.call("POST", path, "pos", {"reason": "撤回"})).status_code == 403
    missing = await api.call("POST", path, "admin", {"reason": ""})
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    answer = await api.call("POST", path, "admin", {"reason": "会员申诉"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["reversed"] and body["points"] == 600 and body["debt"] == 450
    assert body["from_balances"]["points"] == 1_000
    assert body["to_balances"]["points"] == 0 and body["to_balances"]["points_debt"] == -450
    twice = await api.call("POST", path, "admin", {"reason": "再次"})
    assert twice.status_code == 409 and twice.json()["code"] == "transfer_reversed"
    record = (await api.call("GET", f"/points-transfers/{given['id']}", "read")).json()
    assert record["reversal_reason"] == "会员申诉" and record["reversed_by"]
    assert await fetch("SELECT id FROM audit_log WHERE action = 'points.transfer_reverse'")
    await api.buy({**api.sale(30_000), "member_id": str(receiver)})  # 300 points repay the debt first
    assert (await ledger.balances(receiver)).points_debt == -150
    assert await ledger_violations() == []


async def test_a_reversal_leaves_points_that_expired_at_the_receivers(any_api):
    api = any_api
    receiver = await _receiver(api)
    await _allow(api)
    await api.buy(api.sale(100_000))
    given = (await _give(api, 400)).json()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    account = await fetch_one("SELECT id FROM ledger_account WHERE member_id = {} AND kind = 'points'", receiver)
    await fetch(  # the receiver's transferred lot reached its expiry (a test's clock)
        "UPDATE points_lot SET expires_at = {} WHERE account_id = {} AND posting_id = {}",
        past,
        account["id"],
        uuid.UUID(given["posting_id"]),
    )
    answer = await api.call("POST", f"/points-transfers/{given['id']}/reverse", "admin", {"reason": "撤回"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["points"] == 0 and answer.json()["debt"] == 0
    assert answer.json()["from_balances"]["points"] == 600
    assert await ledger_violations() == []


async def test_the_receiver_debt_is_repaid_first(any_api):
    api = any_api
    receiver = await _receiver(api)
    await _allow(api)
    bought = await api.buy({**api.sale(20_000), "member_id": str(receiver)})
    await ledger.redeem_points(receiver, 200, reason="兑换")
    await api.call("POST", f"/transactions/{bought.json()['id']}/refund", json={})  # 200 points owed
    await api.buy(api.sale(50_000))
    body = (await _give(api, 300)).json()
    assert body["to_balances"]["points_debt"] == 0 and body["to_balances"]["points"] == 100
    assert await ledger_violations() == []


@pytest.mark.postgres
async def test_a_transfer_racing_a_redemption_never_overdraws(pg_db):
    shop = await make_shop()
    await change_settings(shop.program.id, {"points_transfer": True})
    receiver = (await members.enrol(shop.program.id, {"name": "李娜"})).id
    outcomes = []
    for round_no in range(25):
        await ledger.adjust_points(shop.member_id, 100, "补发", "admin")

        async def give() -> object:
            try:
                return await transfer.transfer_points(shop.member_id, receiver, 80)
            except InsufficientPoints as exc:
                return exc

        async def redeem() -> object:
            try:
                return await ledger.redeem_points(shop.member_id, 80, reason="兑换")
            except InsufficientPoints as exc:
                return exc

        results = await asyncio.gather(give(), redeem(), give(), redeem())
        won = [r for r in results if not isinstance(r, InsufficientPoints)]
        outcomes.append(len(won))
        balances = await ledger.balances(shop.member_id)
        assert balances.points >= 0 and balances.points == 100 * (round_no + 1) - 80 * sum(outcomes)
    assert sum(outcomes) >= 25 and await ledger_violations() == []
    given = await fetch_one("SELECT COALESCE(SUM(points), 0) AS n FROM points_transfer")
    assert (await ledger.balances(receiver)).points == int(given["n"])
