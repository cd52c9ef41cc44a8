"""Member prices (会员价): the price each line of a sale costs a member, before coupons.

Plugins answer ``membership_line_prices`` with ``(line_no, unit_price)`` pairs; the lowest price
offered for a line wins, and a price above the listed one is ignored (a member never pays more
than the shelf says). The priced lines keep their listed ``unit_price`` and carry the
``member_price``: the sale records both, its ``discount`` includes what member prices took off,
and coupons, points rules and refunds work on what the member pays. Simulations and purchases
price their lines here, so they agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from membership.errors import Reason, ValidationError
from membership.giftcards import service as giftcards
from membership.ledger.rules import LineInput
from membership.org.service import ProgramConfig
from membership.plugins import hooks


@dataclasses.dataclass(frozen=True)
class PriceContext:
    """A sale about to be priced (``membership_line_prices``): the lines as the till sent them
    (``line_no`` is the position from 1), the member and their tier, the store, when, and the
    till's ``attributes`` of the sale."""

    program: ProgramConfig
    member_id: uuid.UUID
    store_id: uuid.UUID
    tier: str | None
    lines: tuple[LineInput, ...]
    occurred_at: dt.datetime
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class LinePrice:
    """A line sold at a member price: its number (from 1), listed unit price and member price."""

    line_no: int
    unit_price: int
    member_price: int


def _checked(answer: Any, lines: list[LineInput]) -> list[tuple[int, int]]:
    """A hook's answer as ``(line_no, price)`` pairs; a line that does not exist or a price that
    is not a whole number ≥ 0 is refused."""
    pairs = []
    for pair in answer or ():
        line_no, price = pair
        for value in (line_no, price):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(
                    field="member price",
                    reason=Reason("line numbers and prices are whole numbers", "行号与价格须为整数"),
                )
        if not 1 <= line_no <= len(lines):
            raise ValidationError(
                field="member price", reason=Reason(f"the sale has no line {line_no}", f"该交易没有第 {line_no} 行")
            )
        if price < 0:
            raise ValidationError(field=f"member price of line {line_no}", reason=Reason("below 0", "不能小于 0"))
        pairs.append((line_no, price))
    return pairs


async def member_priced(
    program: ProgramConfig,
    member: Mapping[str, Any],
    store_id: uuid.UUID,
    lines: list[LineInput],
    occurred_at: dt.datetime,
    attributes: Mapping[str, str] | None = None,
) -> list[LineInput]:
    """``lines`` with the member price of each line that has one below its listed price (the
    lowest any plugin offers); the others unchanged. A line selling gift cards never has one: a
    card sells at its face value."""
    context = PriceContext(
        program=program,
        member_id=member["id"],
        store_id=store_id,
        tier=member["tier"],
        lines=tuple(lines),
        occurred_at=occurred_at,
        attributes=attributes or {},
    )
    best: dict[int, int] = {}
    for answer in await hooks().line_prices(context):
        for line_no, price in _checked(answer, lines):
            best[line_no] = min(price, best.get(line_no, price))
    cards = await giftcards.on_sale(program.id)
    return [
        dataclasses.replace(line, member_price=best[no])
        if best.get(no, line.unit_price) < line.unit_price and line.sku not in cards
        else line
        for no, line in enumerate(lines, 1)
    ]


def line_prices(lines: list[LineInput]) -> tuple[LinePrice, ...]:
    """The lines sold at a member price."""
    return tuple(
        LinePrice(no, line.unit_price, line.member_price)
        for no, line in enumerate(lines, 1)
        if line.member_price is not None
    )
