"""A refund never takes back points that already expired: the member lost those once.

Reproduction of the defect: expiry 90 days after earning; a purchase 91 days ago earns 100
points; the expiry job expires them; refunding the purchase recorded a debt of 100, so the
member lost the same points twice. Only points the member spent may become debt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from membership.config import Settings
from membership.db import close_database, fetch_one, open_database
from membership.errors import InsufficientPoints, MembershipError
from membership.ledger import service as ledger
from membership.ledger.expiry import expire_points
from membership.ledger.rules import LineInput
from membership.sales import service as sales
from tests.conftest import SECRET
from tests.helpers import ledger_violations, make_shop


def _quiet(done: int, total: int) -> None:
    pass


async def test_a_refund_does_not_take_back_expired_points(any_db):
    shop = await make_shop(points_expiry_days=90)
    now = dt.datetime.now(dt.UTC)
    sale = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)], now=now - dt.timedelta(days=91)
    )
    assert sale.points_earned == 100
    assert (await expire_points(now, _quiet)).processed == 1
    assert (await ledger.balances(shop.member_id)).points == 0

    refund = await sales.refund(sale.id)
    assert (refund.points_expired, refund.points_reversed, refund.points_debt) == (100, 0, 0)
    assert refund.balances.points == 0 and refund.balances.points_debt == 0
    assert await ledger_violations() == []


async def test_spent_points_become_debt_and_expired_ones_do_not(any_db):
    shop = await make_shop(points_expiry_days=90)
    now = dt.datetime.now(dt.UTC)
    earned_at = now - dt.timedelta(days=91)
    sale = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 5_000)], now=earned_at
    )
    pay = [sales.PaymentInput("points", points=30), sales.PaymentInput("cash", 70)]
    spend = [LineInput("B", 1, 100)]  # the next day, 30 points pay for it (this sale earns 0: paid with points)
    await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, spend, pay, now=earned_at + dt.timedelta(days=1)
    )
    await expire_points(now, _quiet)
    half = await sales.refund(sale.id, {1: 1})  # half the sale: 50 points, of which 70 expired cover all
    assert (half.points_expired, half.points_reversed, half.points_debt) == (50, 0, 0)
    rest = await sales.refund(sale.id)  # the other 50: 20 expired left to set off, 30 were spent
    assert (rest.points_expired, rest.points_reversed, rest.points_debt) == (20, 30, 30)
    assert rest.balances.points_debt == -30
    assert await ledger_violations() == []


async def test_the_refund_answer_says_what_had_expired(api):
    shop = api.shop
    now = dt.datetime.now(dt.UTC)
    sale = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)], now=now - dt.timedelta(days=400)
    )
    await expire_points(now, _quiet)
    answer = await api.call("POST", f"/transactions/{sale.id}/refund", "pos", {})
    assert answer.status_code == 201, answer.text
    assert (answer.json()["points_expired"], answer.json()["points_debt"]) == (100, 0)


def refund_machine(template: Path):
    class Refunds(RuleBasedStateMachine):
        """One member earns, spends, lets time pass and refunds; a member never loses more points
        than they were credited: the debt recorded stays within what they spent (and still hold)."""

        sold = Bundle("sales")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.folder = Path(tempfile.mkdtemp())
            shutil.copy(template, self.folder / "m.db")
            self.run(open_database(Settings(database_url=f"sqlite:///{self.folder / 'm.db'}", secret_key=SECRET)))
            self.shop = self.run(make_shop(points_expiry_days=90))
            self.clock = dt.datetime.now(dt.UTC) - dt.timedelta(days=720)

        def run(self, coroutine):
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            self.run(close_database())
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

        @rule(target=sold, price=st.integers(100, 50_000), quantity=st.integers(1, 3))
        def earn(self, price, quantity):
            line = LineInput("A", quantity, price)
            program, store, member = self.shop.program.id, self.shop.store_id, self.shop.member_id
            return self.run(sales.record_purchase(program, store, member, [line], now=self.clock)).id

        @rule(points=st.integers(1, 800))
        def spend(self, points):
            try:
                self.run(ledger.redeem_points(self.shop.member_id, points, self.shop.store_id))
            except InsufficientPoints:
                pass

        @rule(days=st.integers(1, 120))
        def time_passes(self, days):
            self.clock = min(self.clock + dt.timedelta(days=days), dt.datetime.now(dt.UTC))
            self.run(expire_points(self.clock, _quiet))

        @rule(sale=sold, whole=st.booleans())
        def refund(self, sale, whole):
            try:
                self.run(sales.refund(sale, None if whole else {1: 1}, now=self.clock))
            except MembershipError:  # nothing left to refund
                pass

        @invariant()
        def never_loses_more_than_credited(self):
            member = self.shop.member_id
            debt = self.run(
                fetch_one(
                    "SELECT COALESCE(-SUM(e.amount), 0) AS n FROM ledger_entry e JOIN ledger_account a"
                    " ON a.id = e.account_id WHERE a.member_id = {} AND a.kind = 'points_debt' AND e.amount < 0",
                    member,
                )
            )
            spent = self.run(
                fetch_one(
                    "SELECT COALESCE(-SUM(e.amount), 0) AS n FROM ledger_entry e JOIN ledger_account a"
                    " ON a.id = e.account_id WHERE a.member_id = {} AND a.kind = 'points' AND e.rule = 'redeem'",
                    member,
                )
            )
            balance = self.run(ledger.balances(member)).points
            assert int(debt["n"]) <= int(spent["n"]) + balance
            assert self.run(ledger_violations()) == []

    return Refunds


def test_no_member_loses_more_than_they_earned(sqlite_template):
    machine = refund_machine(sqlite_template)
    machine.TestCase.settings = settings(
        max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    machine.TestCase().runTest()
