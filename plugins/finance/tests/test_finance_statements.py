"""Monthly points statements on SQLite and PostgreSQL that reconcile with the ledger: three months
of card transactions (back-dated as a card system posts them), paying with points, a refund, points
expiring, a manual adjustment and a redemption this month; statements built by the monthly job and
through the API, each one's opening + earned − redeemed − expired + adjusted equal to its closing,
the closing equal to the sum of the account's entries until the month's end, one month's closing the
next one's opening, and this month's closing the member's balance now."""

from __future__ import annotations

import datetime as dt

import pytest
from finance_bank import at_local, make_bank

from membership.plugin import balances, fetch_one
from membership.sales.service import PaymentInput
from membership_finance import statements
from membership_finance.values import month_bounds, month_of, next_month, now, previous_month


@pytest.fixture
async def account(finance):
    """A bank whose points expire 30 days after they are earned."""
    return await make_bank(points_expiry_days=30)


def _day(program, month: str, day: int, hour: int = 12) -> dt.datetime:
    return at_local(program, dt.date(int(month[:4]), int(month[5:]), day), hour)


async def _entries_until(member_id, end: dt.datetime) -> int:
    row = await fetch_one(
        "SELECT COALESCE(SUM(e.amount), 0) AS n FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.member_id = {} AND a.kind = 'points' AND e.created_at < {}",
        member_id,
        end,
    )
    return int(row["n"])


async def _history(bank):
    """Three months of a cardholder's points; the months and the points earned on the cash part of
    the purchase partly paid with points."""
    from membership.jobs.runner import run_job
    from membership.sales.service import refund

    program = bank.program
    this = month_of(program, now())
    m2 = previous_month(this)
    m1 = previous_month(m2)
    m0 = previous_month(m1)
    assert (await bank.spend(50_000, "5999", now=_day(program, m0, 5))).points_earned == 500
    assert (await bank.spend(10_000, "4900", now=_day(program, m0, 10))).points_earned == 0  # excluded
    paid = [PaymentInput("points", points=200), PaymentInput("cash", 30_000 - 200 * program.point_value_minor)]
    mixed = await bank.spend(30_000, "5999", now=_day(program, m1, 2), payments=paid)
    assert mixed.points_redeemed == 200 and mixed.points_earned > 0
    returned = await bank.spend(8_000, "5999", now=_day(program, m1, 3, 10))
    await refund(returned.id, reason="退货", actor="test", now=_day(program, m1, 3, 15))
    await run_job("expire-points", as_of=_day(program, m1, 25))
    await run_job("expire-points", as_of=_day(program, m2, 20))
    assert (await bank.spend(10_000, "5999", now=_day(program, m2, 10))).points_earned == 100
    return (m0, m1, m2, this), mixed.points_earned


async def test_statements_reconcile_with_the_ledger_month_after_month(account):
    from membership.ledger.service import adjust_points, redeem_points

    bank = account
    (m0, m1, m2, this), cash_points = await _history(bank)
    await adjust_points(bank.member_id, 50, "补偿积分", "test")
    await redeem_points(bank.member_id, 20, bank.branch, "兑换礼品", actor="test")
    for month in (m0, m1, m2):
        await statements.build_month(bank.program, month, "test")
    found = {month: await statements.statement(bank.program, bank.member_id, month) for month in (m0, m1, m2, this)}
    figures = {month: (s.opening, s.earned, s.redeemed, s.expired, s.adjusted, s.closing) for month, s in found.items()}
    assert figures == {
        m0: (0, 500, 0, 0, 0, 500),
        m1: (500, cash_points, 200, 300, 0, cash_points),
        m2: (cash_points, 100, 0, cash_points, 0, 100),
        this: (100, 0, 20, 0, 50, 130),
    }
    assert all(s.reconciles for s in found.values())
    assert [s.built_at is not None for s in found.values()] == [True, True, True, False]
    for month, statement in found.items():
        end = month_bounds(bank.program, month)[1]
        assert statement.closing == await _entries_until(bank.member_id, end), month
        if month != this:
            assert statement.closing == found[next_month(month)].opening
    assert found[this].closing == (await balances(bank.member_id)).points == 130


async def test_the_monthly_job_builds_last_months_statements_and_a_rebuild_replaces_them(account):
    from membership.jobs.runner import run_job

    bank = account
    (*_, m2, this), _ = await _history(bank)
    other, _ = await bank.holder("没有积分的人")
    outcome = await run_job("finance-statements", as_of=_day(bank.program, this, 1, 3))
    assert outcome.result.processed == 1 and m2 in outcome.result.summary
    row = await fetch_one(
        "SELECT opening, closing FROM finance_statement WHERE member_id = {} AND month = {}", bank.member_id, m2
    )
    assert row["closing"] == 100
    assert await fetch_one("SELECT id FROM finance_statement WHERE member_id = {}", other) is None
    again = await run_job("finance-statements", as_of=_day(bank.program, this, 1, 3))
    assert again.result.processed == 1
    count = await fetch_one("SELECT COUNT(*) AS n FROM finance_statement WHERE month = {}", m2)
    assert count["n"] == 1


async def test_statements_through_the_api(api, bank):
    program = bank.program
    last = previous_month(month_of(program, now()))
    await bank.spend(12_300, "5999", now=_day(program, last, 15))
    built = await api.call("POST", f"/finance/programs/{program.id}/statements/{last}", "admin")
    assert built.status_code == 201, built.text
    assert built.json() == {"month": last, "statements": 1}
    one = await api.call("GET", f"/finance/members/{bank.member_id}/statements/{last}")
    assert one.status_code == 200, one.text
    body = one.json()
    assert (body["opening"], body["earned"], body["closing"]) == (0, 123, 123) and body["built_at"]
    assert [(line["points"], line["category"]) for line in body["lines"]] == [(123, "earned")]
    listed = await api.call("GET", f"/finance/members/{bank.member_id}/statements", limit=5)
    assert [s["month"] for s in listed.json()] == [last]
    running = await api.call("GET", f"/finance/members/{bank.member_id}/statements/{month_of(program, now())}")
    assert running.json()["built_at"] is None and running.json()["opening"] == 123
    bad = await api.call("GET", f"/finance/members/{bank.member_id}/statements/2026-13", lang="zh-CN")
    assert bad.status_code == 422 and "请填写月份" in bad.json()["detail"]
    assert (await api.call("POST", f"/finance/programs/{program.id}/statements/{last}", "read")).status_code == 403
    stranger = await api.call("GET", f"/finance/members/{bank.member_id}/statements/{last}", "stranger")
    assert stranger.status_code == 404
