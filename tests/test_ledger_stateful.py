"""Hypothesis drives random sequences of ledger use cases; the invariants hold after every step.

Invariants (see ``tests.helpers.ledger_violations``): each balance equals the sum of its entries;
every posting sums to zero; no balance below zero except recorded points debt; the points balance
equals the lots' remaining points.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from membership.config import Settings
from membership.db import close_database, fetch, open_database
from membership.errors import InsufficientPoints, InsufficientStoredValue, MembershipError
from membership.ledger import service as ledger
from membership.ledger.expiry import expire_points
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from membership.sales.service import PaymentInput
from tests.conftest import SECRET
from tests.helpers import ledger_violations, make_shop

amounts = st.integers(min_value=1, max_value=50_000)


def ledger_machine(template: Path, checked: list[int]):
    class LedgerMachine(RuleBasedStateMachine):
        sales_made = Bundle("sales")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.folder = Path(tempfile.mkdtemp())
            shutil.copy(template, self.folder / "m.db")
            self.run(open_database(Settings(database_url=f"sqlite:///{self.folder / 'm.db'}", secret_key=SECRET)))
            self.shop = self.run(make_shop())
            second = self.run(members.enrol(self.shop.program.id, {"name": "李娜", "phone": "13912345678"}))
            self.members = [self.shop.member_id, second.id]
            self.keys = 0
            self.checks = 0

        def run(self, coroutine):
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            checked.append(self.checks)
            self.run(close_database())
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

        @initialize()
        def seed_points(self) -> None:
            for member_id in self.members:
                self.run(ledger.adjust_points(member_id, 500, "开卡礼", "test"))

        @rule(
            target=sales_made,
            who=st.integers(0, 1),
            prices=st.lists(amounts, min_size=1, max_size=3),
            with_points=st.integers(0, 300),
            with_stored=st.booleans(),
        )
        def purchase(self, who, prices, with_points, with_stored):
            member_id = self.members[who]
            lines = [LineInput(f"sku{i}", 1, p) for i, p in enumerate(prices)]
            total = sum(prices)
            payments, rest = [], total
            if with_points and with_points <= rest:
                payments.append(PaymentInput("points", points=with_points))
                rest -= with_points
            if with_stored and rest:
                payments.append(PaymentInput("stored_value", rest // 2))
                rest -= rest // 2
            payments.append(PaymentInput("cash", rest))
            try:
                return self.run(
                    sales.record_purchase(self.shop.program.id, self.shop.store_id, member_id, lines, payments)
                ).id
            except (InsufficientPoints, InsufficientStoredValue):
                return self.run(sales.record_purchase(self.shop.program.id, self.shop.store_id, member_id, lines)).id

        @rule(who=st.integers(0, 1), points=st.integers(1, 800))
        def redeem(self, who, points):
            try:
                self.run(ledger.redeem_points(self.members[who], points))
            except InsufficientPoints:
                pass

        @rule(who=st.integers(0, 1), amount=amounts)
        def top_up(self, who, amount):
            self.run(ledger.top_up(self.members[who], amount))

        @rule(who=st.integers(0, 1), points=st.integers(-300, 300).filter(bool))
        def adjust(self, who, points):
            try:
                self.run(ledger.adjust_points(self.members[who], points, "调整", "test"))
            except InsufficientPoints:
                pass

        @rule(sale=sales_made, share=st.integers(1, 3))
        def refund(self, sale, share):
            lines = self.run(
                fetch("SELECT line_no, quantity, refunded_quantity FROM sale_line WHERE sale_id = {}", sale)
            )
            wanted = {r["line_no"]: r["quantity"] - r["refunded_quantity"] for r in lines[:share]}
            try:
                self.run(sales.refund(sale, wanted))
            except MembershipError:  # nothing left on those lines
                pass

        @rule(sale=sales_made)
        def replay_refund_key(self, sale):
            self.keys += 1
            key = f"refund-{self.keys}"
            try:
                first = self.run(sales.refund(sale, idempotency_key=key))
            except MembershipError:
                return
            again = self.run(sales.refund(sale, idempotency_key=key))
            assert again.replayed and again.id == first.id

        @rule(days=st.integers(0, 400))
        def time_passes(self, days):
            when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
            self.run(expire_points(when, lambda d, t: None, chunk_size=3))

        @invariant()
        def ledger_is_sound(self):
            self.checks += 1
            assert self.run(ledger_violations()) == []

    return LedgerMachine


def test_ledger_invariants_hold_over_random_histories(sqlite_template):
    checked: list[int] = []
    machine = ledger_machine(sqlite_template, checked)
    machine.TestCase.settings = settings(
        max_examples=4,
        stateful_step_count=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
    # the invariants were checked after every step of at least one 200-step history
    assert max(checked) >= 200, checked
