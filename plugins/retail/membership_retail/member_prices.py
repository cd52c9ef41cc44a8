"""Member prices per tier (会员价): on a SKU (a fixed price, or a percentage of the listed price)
or on a whole category (a percentage), for one tier or for every member.

The kernel asks for them before a sale is priced (``membership_line_prices``), in ``simulate``
and in the purchase alike; the lowest price that applies to a line wins, and a percentage is
rounded down to the fen. A receipt claimed later (补录积分) was paid at the listed prices: no member
price applies to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.plugin import (
    PriceContext,
    ProgramConfig,
    Reason,
    ValidationError,
    execute,
    fetch,
    fetch_one,
    new_id,
    use_case,
)
from membership_retail.catalogue import filled
from membership_retail.dialect import one_of
from membership_retail.errors import PriceNotFound

CLAIM_ATTRIBUTE = "retail_claim"
"""The sale attribute of a claimed receipt: its lines were paid at the listed prices."""


@dataclasses.dataclass(frozen=True)
class MemberPrice:
    """One member price: ``scope`` ``sku`` or ``category``, its ``target``, the ``tier`` it is for
    (empty: every member), and either a fixed ``price`` (fen) or a ``percent`` of the listed price."""

    id: uuid.UUID
    scope: str
    target: str
    tier: str
    price: int | None
    percent: int | None

    def unit_price(self, listed: int) -> int:
        """What a unit listed at ``listed`` costs a member at this price."""
        return self.price if self.price is not None else listed * self.percent // 100


def program_tiers(program: ProgramConfig) -> list[tuple[str, str]]:
    """The program's tiers as ``(code, name)``, lowest first."""
    return [(t["code"], t.get("name") or t["code"]) for t in program.settings.get("tiers", []) if "code" in t]


def _checked(program: ProgramConfig, scope: str, target: str, tier: str, price: Any, percent: Any) -> None:
    if scope not in ("sku", "category"):
        raise ValidationError(field="scope", reason=Reason("sku or category", "只能是 sku（商品）或 category（品类）"))
    if not 1 <= len(target) <= 64:
        raise ValidationError(field="target", reason=Reason("1 to 64 characters", "须为 1 到 64 个字符"))
    tiers = [code for code, _ in program_tiers(program)]
    if tier and tiers and tier not in tiers:
        raise ValidationError(
            field="tier", reason=Reason(f"one of {', '.join(tiers)}", f"须为会员等级之一：{'、'.join(tiers)}")
        )
    if (price is None) == (percent is None):
        raise ValidationError(
            field="price", reason=Reason("give a price or a percent, not both", "请填写会员价或折扣，二选一")
        )
    if scope == "category" and price is not None:
        raise ValidationError(
            field="price",
            reason=Reason("a category takes a percent of the listed price", "品类会员价只能按折扣（标价的百分比）设置"),
        )
    if price is not None and (isinstance(price, bool) or not isinstance(price, int) or price < 0):
        raise ValidationError(field="price", reason=Reason("a whole number of fen ≥ 0", "须为 ≥ 0 的整数（分）"))
    if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99):
        raise ValidationError(field="percent", reason=Reason("1 to 99 (95 = 5% off)", "须为 1 到 99（95 即九五折）"))


@use_case
async def set_member_price(
    program: ProgramConfig,
    scope: str,
    target: str,
    tier: str = "",
    price: int | None = None,
    percent: int | None = None,
    actor: str = "system",
) -> MemberPrice:
    """Set the member price of a SKU or category for ``tier`` (empty: every member), replacing
    the one it had."""
    target, tier = target.strip(), tier.strip()
    _checked(program, scope, target, tier, price, percent)
    row = await fetch_one(
        "INSERT INTO retail_member_price (id, program_id, scope, target, tier, price, percent, updated_by, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (program_id, scope, target, tier) DO UPDATE SET"
        " price = excluded.price, percent = excluded.percent, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at RETURNING id",
        new_id(),
        program.id,
        scope,
        target,
        tier,
        price,
        percent,
        actor[:100],
        dt.datetime.now(dt.UTC),
    )
    return MemberPrice(row["id"], scope, target, tier, price, percent)


@use_case
async def remove_member_price(program_id: uuid.UUID, price_id: uuid.UUID) -> None:
    """Remove a member price of the program."""
    row = await fetch_one("SELECT id FROM retail_member_price WHERE id = {} AND program_id = {}", price_id, program_id)
    if row is None:
        raise PriceNotFound(price_id=price_id)
    await execute("DELETE FROM retail_member_price WHERE program_id = {} AND id = {}", program_id, price_id)


def _price(row: dict[str, Any]) -> MemberPrice:
    return MemberPrice(row["id"], row["scope"], row["target"], row["tier"], row["price"], row["percent"])


async def member_prices(program_id: uuid.UUID) -> list[MemberPrice]:
    """The program's member prices: categories first, then SKUs, each by target and tier."""
    rows = await fetch(
        "SELECT id, scope, target, tier, price, percent FROM retail_member_price WHERE program_id = {}"
        " ORDER BY scope, target, tier",
        program_id,
    )
    return [_price(row) for row in rows]


async def line_offers(context: PriceContext) -> list[tuple[int, int]] | None:
    """The member price of each line of the sale that has one (``membership_line_prices``): the
    lowest of the prices for the line's SKU and category, for the member's tier or every member."""
    if CLAIM_ATTRIBUTE in context.attributes:
        return None
    lines = await filled(context.program, context.lines)
    targets = {line.sku for line in lines} | {line.category for line in lines if line.category}
    condition, arg = one_of("target", sorted(targets))
    rows = await fetch(
        f"SELECT id, scope, target, tier, price, percent FROM retail_member_price WHERE program_id = {{}}"
        f" AND (tier = '' OR tier = {{}}) AND {condition}",
        context.program.id,
        context.tier or "",
        arg,
    )
    prices = {(row["scope"], row["target"]): [] for row in rows}
    for row in rows:
        prices[row["scope"], row["target"]].append(_price(row))
    offers = []
    for no, line in enumerate(lines, 1):
        found = prices.get(("sku", line.sku), []) + (
            prices.get(("category", line.category), []) if line.category else []
        )
        if found:
            offers.append((no, min(price.unit_price(line.unit_price) for price in found)))
    return offers or None
