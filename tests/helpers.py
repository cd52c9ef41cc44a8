"""Shared test helpers: a small shop, and the ledger invariants every test can check (the
kernel's own check, :func:`membership.backup.verify.ledger_violations`, which verifies backups)."""

from __future__ import annotations

import dataclasses
import uuid

from membership.backup.verify import ledger_violations
from membership.members import service as members
from membership.org import service as org

__all__ = ["Shop", "ledger_violations", "make_shop"]


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
