"""Shared test helpers: a small shop, and the ledger invariants every test can check."""

from __future__ import annotations

import dataclasses
import uuid

from membership.db import fetch
from membership.members import service as members
from membership.org import service as org


@dataclasses.dataclass
class Shop:
    merchant_id: uuid.UUID
    store_id: uuid.UUID
    other_store_id: uuid.UUID
    program: org.ProgramConfig
    member_id: uuid.UUID


async def make_shop(**program_options) -> Shop:
    merchant = await org.create_merchant("测试超市")
    store = await org.create_store(merchant, "S1", "一号店", "上海")
    other = await org.create_store(merchant, "S2", "二号店", "杭州")
    options = {"points_expiry_days": 365, **program_options}
    program = await org.create_program(merchant, "测试会员", **options)
    member = await members.enrol(program.id, {"name": "张伟", "phone": "13812345678"}, store_id=store)
    return Shop(merchant, store, other, program, member.id)


async def ledger_violations() -> list[str]:
    """Every broken ledger invariant, as text (empty when the ledger is sound)."""
    problems = []
    for row in await fetch(
        "SELECT a.id, a.kind, a.balance, COALESCE(e.total, 0) AS total FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entry GROUP BY account_id) e"
        " ON e.account_id = a.id WHERE a.member_id IS NOT NULL AND a.balance <> COALESCE(e.total, 0)"
    ):
        problems.append(f"account {row['kind']} balance {row['balance']} != entries {row['total']}")
    for row in await fetch(
        "SELECT posting_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entry GROUP BY posting_id"
        " HAVING SUM(amount) <> 0"
    ):
        problems.append(f"posting {row['posting_id']} sums to {row['total']}")
    for row in await fetch(
        "SELECT kind, balance FROM ledger_account WHERE member_id IS NOT NULL AND"
        " ((kind <> 'points_debt' AND balance < 0) OR (kind = 'points_debt' AND balance > 0))"
    ):
        problems.append(f"{row['kind']} balance {row['balance']} out of range")
    for row in await fetch(
        "SELECT a.balance, COALESCE(l.remaining, 0) AS remaining FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(remaining) AS BIGINT) AS remaining FROM points_lot"
        " GROUP BY account_id) l"
        " ON l.account_id = a.id WHERE a.kind IN ('points', 'points_pending') AND a.balance <> COALESCE(l.remaining, 0)"
    ):
        problems.append(f"points balance {row['balance']} != lots remaining {row['remaining']}")
    for row in await fetch(
        "SELECT a.kind, a.balance, COALESCE(l.remaining, 0) AS remaining FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(remaining) AS BIGINT) AS remaining FROM stored_value_lot"
        " GROUP BY account_id) l ON l.account_id = a.id"
        " WHERE a.kind IN ('stored_value', 'stored_value_bonus') AND a.balance <> COALESCE(l.remaining, 0)"
    ):
        problems.append(f"{row['kind']} balance {row['balance']} != lots remaining {row['remaining']}")
    return problems
