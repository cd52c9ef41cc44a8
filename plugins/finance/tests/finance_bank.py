"""A bank for the finance pack's tests: 银河银行's card program with the pack on, its card centre and
a branch, the tiers 普卡/金卡/白金卡/钻石卡, and a cardholder enrolled as a bank enrols (ID number,
verified KYC, the required consents) with a bank card."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid
from typing import Any

from membership.plugin import LineInput, ProgramConfig, configure_tiers, enrol_member, get_program, issue_credential
from membership.testing import make_merchant, make_program, make_store
from membership_finance.bank_card import check_digit

TIERS = [
    {"code": "classic", "name": "普卡", "threshold": 0},
    {"code": "gold", "name": "金卡", "threshold": 1},
    {"code": "platinum", "name": "白金卡", "threshold": 2},
    {"code": "diamond", "name": "钻石卡", "threshold": 3},
]
ID_NUMBER = "11010519491231002X"  # GB 11643's own example
CONSENTS = {"personal_info": True, "sensitive_info": True, "marketing_sms": False}
_numbers = itertools.count(1)


def card(prefix: str = "622202") -> str:
    """A fresh 16-digit card number with its Luhn check digit (622202000000001x…)."""
    first = f"{prefix}{next(_numbers):09d}"
    return first + check_digit(first)


def id_number(sequence: int) -> str:
    """A well-formed ID number of someone born on 1 May 1990 (sequence 0–999)."""
    first = f"31010419900501{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first + "10X98765432"[sum(int(d) * w for d, w in zip(first, weights, strict=True)) % 11]


def profile(name: str = "张伟", number: str = ID_NUMBER, **changes: Any) -> dict[str, Any]:
    """What a bank records when it opens a membership."""
    return {
        "name": name,
        "id_number": number,
        "preferences": {"kyc_status": "verified"},
        "consents": dict(CONSENTS),
        **changes,
    }


def at_local(program: ProgramConfig, day: dt.date, hour: int = 12) -> dt.datetime:
    """A UTC moment at ``hour`` of the local ``day``."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=program.zone).astimezone(dt.UTC)


@dataclasses.dataclass
class Bank:
    """银河银行: a merchant, its card program with the pack on, the card centre (where card
    transactions are recorded) and a branch, a cardholder and their card."""

    merchant_id: uuid.UUID
    program: ProgramConfig
    centre: uuid.UUID
    branch: uuid.UUID
    member_id: uuid.UUID
    card: str

    async def holder(self, name: str = "李娜", sequence: int | None = None) -> tuple[uuid.UUID, str]:
        """Another cardholder with a card of their own."""
        number = id_number(sequence if sequence is not None else next(_numbers) % 1000)
        member = await enrol_member(self.program.id, profile(name, number), store_id=self.branch, actor="test")
        found = card()
        await issue_credential(member.id, "bank_card", found, self.branch, "test")
        return member.id, found

    async def spend(
        self,
        amount: int,
        mcc: str | None = "5999",
        txn_type: str | None = None,
        member_id: uuid.UUID | None = None,
        now: dt.datetime | None = None,
        payments: list[Any] | None = None,
    ) -> Any:
        """A card transaction of ``amount`` fen at ``mcc`` recorded at the card centre."""
        from membership.plugin import record_purchase

        attributes = {key: value for key, value in (("mcc", mcc), ("txn_type", txn_type)) if value}
        return await record_purchase(
            self.program.id,
            self.centre,
            member_id or self.member_id,
            [LineInput("POS", 1, amount, "刷卡消费")],
            payments,
            actor="test",
            now=now,
            attributes=attributes,
        )

    async def refreshed(self) -> ProgramConfig:
        """The program as plugins see it now."""
        self.program = await get_program(self.program.id)
        return self.program


async def make_bank(settings: dict[str, Any] | None = None, **program_options: Any) -> Bank:
    """银河银行 with the pack on (``settings`` of the pack; ``program_options`` for the kernel's
    ``create_program``, e.g. ``points_expiry_days``) and one cardholder."""
    merchant = await make_merchant("银河银行")
    program = await make_program(merchant, "银河信用卡积分", plugins={"finance": settings or {}}, **program_options)
    centre = await make_store(merchant, "CC01", "银河银行 · 信用卡中心", "上海")
    branch = await make_store(merchant, "BJ01", "银河银行 · 北京分行营业部", "北京")
    await configure_tiers(program.id, TIERS, None, "test")
    member = await enrol_member(program.id, profile(), store_id=branch, actor="test")
    number = card()
    await issue_credential(member.id, "bank_card", number, branch, "test")
    return Bank(merchant, await get_program(program.id), centre, branch, member.id, number)


@dataclasses.dataclass
class Client:
    """The real app's ``/api/v1`` over the test's database, with keys of the bank's merchant per
    scope (``read``, ``pos``, ``admin``), the card centre's till (``till``) and another
    merchant's (``stranger``)."""

    http: Any
    keys: dict[str, str]

    async def call(
        self, method: str, path: str, key: str = "read", json: Any = None, headers: dict | None = None, **params: Any
    ) -> Any:
        sent = {
            "Authorization": f"Bearer {self.keys[key]}",
            "Accept-Language": params.pop("lang", "en"),
            **(headers or {}),
        }
        return await self.http.request(method, f"/api/v1{path}", json=json, params=params or None, headers=sent)
