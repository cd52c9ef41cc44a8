"""Hypothesis interleaves bursts of concurrent sessions (purchases, payments with points,
redemptions, refunds, sign-ins of two members at once) and checks the books against a model of
what was acknowledged, after every burst, on SQLite and on a real PostgreSQL.

The model: every acknowledged purchase, redemption and refund is in the books exactly once and
nothing refused is; the daily cap holds over what the day's purchases kept; the first-purchase
bonus and the day's sign-in came once per member; and the ledger invariants hold.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from membership.config import Settings
from membership.db import close_database, fetch, fetch_one, open_database
from membership.errors import MembershipError
from membership.ledger import bonuses
from membership.ledger import service as ledger
from membership.ledger.points_rules import create_rule
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from membership.sales.service import PaymentInput
from tests.conftest import SECRET, SERVERS, open_server
from tests.helpers import ledger_violations, make_shop

CAP = 3_000
RULES = [
    {"code": "base", "kind": "base_rate", "name": "每元 1 分", "params": {"points": 1, "per_amount": 100}},
    {"code": "first", "kind": "first_purchase", "name": "首单礼", "params": {"points": 200}},
    {"code": "cap", "kind": "cap", "name": "每日上限", "params": {"per_day": CAP}},
    {
        "code": "sign",
        "kind": "daily_sign_in",
        "name": "签到",
        "params": {"points": 5, "streak_days": 7, "streak_bonus": 0},
    },
]

operation = st.one_of(
    st.tuples(st.just("buy"), st.integers(0, 1), st.integers(1, 200_000)),
    st.tuples(st.just("pay_points"), st.integers(0, 1), st.integers(1, 400)),
    st.tuples(st.just("redeem"), st.integers(0, 1), st.integers(1, 600)),
    st.tuples(st.just("refund"), st.integers(0, 1), st.integers(0, 50)),
    st.tuples(st.just("sign_in"), st.integers(0, 1), st.just(0)),
)


def machine(open_db):
    class ConcurrentBooks(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.run(open_db())
            self.shop = self.run(make_shop())
            for definition in RULES:
                self.run(create_rule(self.shop.program.id, definition))
            friend = self.run(members.enrol(self.shop.program.id, {"name": "李娜", "phone": "13912345678"}))
            self.members = [self.shop.member_id, friend.id]
            self.sales: list[tuple[uuid.UUID, uuid.UUID]] = []  # acknowledged: (sale, member)
            self.redeemed = 0
            self.refunds: set[uuid.UUID] = set()

        def run(self, coroutine):
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            self.run(close_database())
            self.loop.close()

        async def _one(self, op: tuple[str, int, int]):
            kind, who, n = op
            member_id = self.members[who]
            program, store = self.shop.program.id, self.shop.store_id
            try:
                if kind == "buy":
                    sale = await sales.record_purchase(program, store, member_id, [LineInput("A", 1, n)])
                    return "sale", sale.id, member_id
                if kind == "pay_points":
                    payments = [PaymentInput("points", points=n), PaymentInput("cash", 10_000 - n)]
                    sale = await sales.record_purchase(program, store, member_id, [LineInput("B", 1, 10_000)], payments)
                    return "sale", sale.id, member_id
                if kind == "redeem":
                    await ledger.redeem_points(member_id, n, store)
                    return "redeemed", n, member_id
                if kind == "refund" and self.sales:
                    sale_id = self.sales[n % len(self.sales)][0]
                    done = await sales.refund(sale_id)
                    return "refund", done.id, member_id
                if kind == "sign_in":
                    await bonuses.sign_in(member_id)
            except MembershipError:  # refused: insufficient points, nothing left to refund
                return None
            return None

        @rule(burst=st.lists(operation, min_size=2, max_size=12))
        def at_once(self, burst):
            async def together():
                return await asyncio.gather(*(self._one(op) for op in burst))

            for outcome in self.run(together()):
                if outcome is None:
                    continue
                what, value, member_id = outcome
                if what == "sale":
                    self.sales.append((value, member_id))
                elif what == "redeemed":
                    self.redeemed += value
                else:
                    self.refunds.add(value)

        @invariant()
        def books_match_what_was_acknowledged(self):
            assert self.run(ledger_violations()) == []
            rows = self.run(fetch("SELECT id, member_id FROM sale"))
            assert sorted((r["id"], r["member_id"]) for r in rows) == sorted(self.sales)
            refunds = self.run(fetch("SELECT id FROM sale_refund"))
            assert {r["id"] for r in refunds} == self.refunds
            redeemed = self.run(
                fetch_one(
                    "SELECT COALESCE(SUM(e.amount), 0) AS n FROM ledger_entry e JOIN ledger_account a"
                    " ON a.id = e.account_id WHERE e.program_id = {} AND a.program_id = {} AND e.rule = 'redeem'"
                    " AND a.member_id IS NOT NULL",  # every table by the program: one node answers on Citus
                    *(self.shop.program.id, self.shop.program.id),
                )
            )
            assert -int(redeemed["n"]) == self.redeemed
            zone = self.shop.program.zone
            for member_id in self.members:
                sold = self.run(
                    fetch(
                        "SELECT s.created_at, s.status, s.points_earned - COALESCE((SELECT SUM(r.points_reversed)"
                        " FROM sale_refund r WHERE r.program_id = {} AND r.sale_id = s.id), 0) AS kept FROM sale s"
                        " WHERE s.program_id = {} AND s.member_id = {}",
                        *(self.shop.program.id, self.shop.program.id),
                        member_id,
                    )
                )
                by_day: dict = {}
                for sale in sold:
                    day = sale["created_at"].astimezone(zone).date()
                    by_day[day] = by_day.get(day, 0) + int(sale["kept"])
                assert all(kept <= CAP for kept in by_day.values()), by_day
                bonus = self.run(
                    fetch(
                        "SELECT e.rule FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
                        " WHERE e.program_id = {} AND a.program_id = {} AND a.member_id = {}"
                        " AND e.rule IN ('first', 'sign') AND e.amount > 0",
                        *(self.shop.program.id, self.shop.program.id),
                        member_id,
                    )
                )
                rules = [b["rule"] for b in bonus]
                refunded = sum(sale["status"] == "refunded" for sale in sold)  # a refunded first sale is no first
                assert (1 if sold else 0) <= rules.count("first") <= 1 + refunded
                assert rules.count("sign") <= 1

    return ConcurrentBooks


@pytest.mark.parametrize("engine", ["sqlite", *SERVERS])
def test_concurrent_bursts_keep_the_books_to_the_model(engine, request, sqlite_template):
    if engine != "sqlite":

        async def open_db():
            await open_server(request, engine)

    else:

        async def open_db():
            folder = Path(tempfile.mkdtemp())
            request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
            shutil.copy(sqlite_template, folder / "m.db")
            await open_database(Settings(database_url=f"sqlite:///{folder / 'm.db'}", secret_key=SECRET))

    books = machine(open_db)
    books.TestCase.settings = settings(
        max_examples=4,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    books.TestCase().runTest()
