"""Stored value: top-up plans with a bonus kept apart from the principal (spent last, never paid
out), paying back principal only, and the settlement between stores reconciling to the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from membership.db import fetch, fetch_one
from membership.errors import InsufficientStoredValue, ValidationError
from membership.ledger import service as ledger
from membership.ledger import settlement
from membership.ledger.rules import LineInput
from membership.org.service import update_settings
from membership.plugins import hooks
from membership.sales import service as sales
from membership.sales.service import PaymentInput
from tests.helpers import ledger_violations, make_shop

PLANS = [{"code": "100-20", "name": "充100送20", "pay": 10_000, "bonus": 2_000}]


async def _shop():
    shop = await make_shop()
    await update_settings(shop.program.id, {"top_up_plans": PLANS})
    return shop


async def _pay(shop, amount: int, store=None):
    return await sales.record_purchase(
        shop.program.id,
        store or shop.store_id,
        shop.member_id,
        [LineInput("A", 1, amount)],
        payments=[PaymentInput("stored_value", amount)],
    )


@pytest.mark.parametrize(
    ("spend", "principal", "bonus"),
    [(3_000, 7_000, 2_000), (10_000, 0, 2_000), (11_500, 0, 500), (12_000, 0, 0)],
)
async def test_the_bonus_is_spent_after_the_principal(any_db, spend, principal, bonus):
    shop = await _shop()
    topped = await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")
    assert topped.bonus == 2_000 and topped.balances.stored_value_bonus == 2_000
    await _pay(shop, spend)
    balances = await ledger.balances(shop.member_id)
    assert (balances.stored_value, balances.stored_value_bonus) == (principal, bonus)
    with pytest.raises(InsufficientStoredValue):
        await _pay(shop, principal + bonus + 1)
    assert await ledger_violations() == []


async def test_a_plan_takes_its_own_amount_on_its_days_only(db):
    shop = await _shop()
    with pytest.raises(ValidationError, match=r"exactly 10000 minor units \(100.00 CNY\)"):
        await ledger.top_up(shop.member_id, 9_000, shop.store_id, plan="100-20")
    await update_settings(shop.program.id, {"top_up_plans": [{**PLANS[0], "ends_on": "2020-01-01"}]})
    with pytest.raises(ValidationError, match="does not run today"):
        await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")
    with pytest.raises(ValidationError, match="no top-up plan"):
        await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="nope")


async def test_paying_back_is_principal_only_and_forfeits_the_bonus_that_came_with_it(any_db):
    shop = await _shop()
    await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")
    await _pay(shop, 2_000)  # principal 8,000, bonus 2,000
    half = await ledger.cash_out(shop.member_id, 4_000, shop.store_id, "顾客退卡")
    assert (half.amount, half.bonus_forfeited) == (4_000, 1_000)
    with pytest.raises(InsufficientStoredValue):
        await ledger.cash_out(shop.member_id, 4_001, shop.store_id)
    rest = await ledger.cash_out(shop.member_id, 4_000, shop.store_id)
    assert rest.bonus_forfeited == 1_000
    balances = await ledger.balances(shop.member_id)
    assert (balances.stored_value, balances.stored_value_bonus) == (0, 0)
    assert await fetch("SELECT action FROM audit_log WHERE action = 'stored_value.cash_out'") != []
    assert await ledger_violations() == []


async def test_settlement_between_stores_equals_what_the_ledger_spent_across_stores(any_db):
    shop = await _shop()
    await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")  # issued at S1
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 50_000)])
    await _pay(shop, 11_000, store=shop.other_store_id)  # spent at S2: 10,000 principal + 1,000 bonus
    await _pay(shop, 500, store=shop.store_id)  # at S1 itself: nothing owed
    await sales.record_purchase(
        shop.program.id,
        shop.other_store_id,
        shop.member_id,
        [LineInput("B", 1, 300)],
        payments=[PaymentInput("points", points=300)],
    )  # 300 points earned at S1 spent at S2
    await ledger.redeem_points(shop.member_id, 100, shop.store_id)  # at S1: nothing owed
    today = dt.datetime.now(shop.program.zone).date()
    lines = await settlement.report(shop.program, today, today)
    got = {(line.issuer_code, line.redeemer_code, line.kind): (line.units, line.value) for line in lines}
    assert got == {
        ("S1", "S2", "points"): (300, 300),
        ("S1", "S2", "stored_value"): (10_000, 10_000),
        ("S1", "S2", "stored_value_bonus"): (1_000, 1_000),
    }
    spent = await fetch_one(
        "SELECT CAST(SUM(-e.amount) AS BIGINT) AS n FROM ledger_entry e JOIN ledger_posting p ON p.id = e.posting_id"
        " JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.kind IN ('stored_value', 'stored_value_bonus') AND e.amount < 0 AND p.store_id = {}",
        shop.other_store_id,
    )
    assert spent["n"] == 11_000  # what S2 took from stored value issued at S1 = what S1 owes it
    table = settlement.as_csv(lines)
    assert "S1,S2,points,300,300" in table and table.splitlines()[-1] == "TOTAL,,,,11300"
    console_report = await hooks().reports()["settlement"]().run(shop.program.id, {"months": 1})
    assert console_report.rows[0] == ["S1", "S2", "points", 300, 300]  # points spent and what they are worth
    assert sum(row[-1] for row in console_report.rows) == 11_300 and console_report.rows[-1][3] is None
    assert await ledger_violations() == []


async def test_top_up_plans_settlement_and_cash_out_through_the_api(api):
    program = api.shop.program.id
    assert (await api.call("PUT", f"/programs/{program}/top-up-plans", "admin", PLANS)).status_code == 200
    dup = await api.call("PUT", f"/programs/{program}/top-up-plans", "admin", PLANS * 2)
    assert dup.status_code == 422
    top = await api.call(
        "POST", f"/members/{api.shop.member_id}/stored-value/top-up", "pos", {"amount": 10_000, "plan": "100-20"}
    )
    assert top.status_code == 201 and top.json()["bonus"] == 2_000
    assert top.json()["balances"]["stored_value_bonus"] == 2_000
    out = await api.call("POST", f"/members/{api.shop.member_id}/stored-value/cash-out", "admin", {"amount": 5_000})
    assert out.status_code == 201 and out.json()["bonus_forfeited"] == 1_000
    assert (
        await api.call("POST", f"/members/{api.shop.member_id}/stored-value/cash-out", "pos", {"amount": 1})
    ).status_code == 403
    today = dt.datetime.now(api.shop.program.zone).date().isoformat()
    report = await api.call("GET", f"/programs/{program}/settlement", "admin", params={"start": today, "end": today})
    assert report.status_code == 200 and report.json()["total_value"] == 0
    csv = await api.call("GET", f"/programs/{program}/settlement.csv", "admin", params={"start": today, "end": today})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("issuer_store,redeemer_store")
    backwards = await api.call(
        "GET", f"/programs/{program}/settlement", "admin", params={"start": today, "end": "2020-01-01"}
    )
    assert backwards.status_code == 422


async def test_a_refund_gives_stored_value_and_points_back_to_their_lots_and_takes_back_the_settlement(any_db):
    shop = await _shop()
    await ledger.top_up(shop.member_id, 10_000, shop.store_id, plan="100-20")  # at S1
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 30_000)])  # 300 pts
    paid = await sales.record_purchase(
        shop.program.id,
        shop.other_store_id,
        shop.member_id,
        [LineInput("B", 1, 11_000), LineInput("C", 1, 200)],
        payments=[PaymentInput("stored_value", 11_000), PaymentInput("points", points=200)],
    )
    half = await sales.refund(paid.id, lines={1: 1}, idempotency_key="r1")  # the stored-value line's share
    assert half.stored_value_returned > 0
    await sales.refund(paid.id, idempotency_key="r2")  # the rest
    balances = await ledger.balances(shop.member_id)
    assert (balances.stored_value, balances.stored_value_bonus) == (10_000, 2_000)
    today = dt.datetime.now(shop.program.zone).date()
    assert all(line.units == 0 and line.value == 0 for line in await settlement.report(shop.program, today, today))
    issuers = await fetch("SELECT DISTINCT store_id FROM points_lot WHERE remaining > 0")
    assert issuers == [{"store_id": shop.store_id}]  # points given back are still S1's
    assert await ledger_violations() == []
