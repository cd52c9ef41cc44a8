"""Whether coupons may be used on a sale, and what each takes off: pure integer rules.

The service reads the coupons (:class:`HeldCoupon`) and calls :func:`evaluate`; nothing here
touches the database, so every rule is tested on plain values.

Rules, in the order they are checked for each coupon (the first that fails names the coupon and
the reason in its error):

1. it belongs to the buying member (``CouponOtherMember``);
2. it is not void, not redeemed, not expired (``CouponVoid``, ``CouponAlreadyRedeemed``,
   ``CouponExpired``: also when still ``issued`` but past ``valid_until``);
3. the sale's local date is not before ``valid_from`` (``CouponNotYetValid``);
4. the store is in the template's ``store_ids`` (empty: every store) (``CouponWrongStore``);
5. the lines' total before any discount is at least ``min_spend`` (``CouponMinimumSpend``).

Then, over the set: a coupon that is not ``stackable`` must be the only coupon of the sale
(``CouponNotStackable``); stackable coupons combine. Discounts are applied free items first,
then amounts off, then percentages (each on what is left to pay, never below zero), so the
order codes are presented in does not change the result. A percentage is rounded down and capped
by ``max_off``; a free item takes the cheapest unit of its SKU not already given free.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.errors import (
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponItemMissing,
    CouponMinimumSpend,
    CouponNotStackable,
    CouponNotYetValid,
    CouponOtherMember,
    CouponVoid,
    CouponWrongStore,
)
from membership.ledger.rules import LineInput

KINDS = ("amount_off", "percent_off", "free_item")
APPLY_ORDER = {"free_item": 0, "amount_off": 1, "percent_off": 2}


@dataclasses.dataclass(frozen=True)
class HeldCoupon:
    """A coupon and its template's terms, as read for a sale."""

    id: uuid.UUID
    code: str
    member_id: uuid.UUID
    state: str
    valid_from: dt.date
    valid_until: dt.date
    sale_id: uuid.UUID | None
    template: str
    name: str
    kind: str
    amount_off: int = 0
    percent_off: int = 0
    max_off: int | None = None
    free_sku: str | None = None
    min_spend: int = 0
    store_ids: tuple[uuid.UUID, ...] = ()
    stackable: bool = False


@dataclasses.dataclass(frozen=True)
class AppliedCoupon:
    """A coupon used on a sale and the discount it gave (minor units)."""

    code: str
    template: str
    name: str
    kind: str
    discount: int


def money(minor: int, minor_per_unit: int = 100, currency: str = "CNY") -> str:
    """``12345`` → ``"123.45 CNY"`` (integers only)."""
    digits = len(str(minor_per_unit)) - 1
    whole, fraction = divmod(minor, minor_per_unit)
    return f"{whole}.{fraction:0{digits}d} {currency}" if digits else f"{whole} {currency}"


def check_usable(
    coupon: HeldCoupon,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    today: dt.date,
    subtotal: int,
    minor_per_unit: int = 100,
    currency: str = "CNY",
) -> None:
    """Refuse ``coupon`` for this member, store, local date and lines' total (rules 1–5)."""
    code = coupon.code
    if coupon.member_id != member_id:
        raise CouponOtherMember(code=code)
    if coupon.state == "void":
        raise CouponVoid(code=code)
    if coupon.state == "redeemed":
        raise CouponAlreadyRedeemed(code=code, sale_id=coupon.sale_id)
    if coupon.state == "expired" or today > coupon.valid_until:
        raise CouponExpired(code=code, valid_until=coupon.valid_until.isoformat())
    if today < coupon.valid_from:
        raise CouponNotYetValid(code=code, valid_from=coupon.valid_from.isoformat())
    if coupon.store_ids and store_id not in coupon.store_ids:
        raise CouponWrongStore(code=code)
    if subtotal < coupon.min_spend:
        raise CouponMinimumSpend(
            code=code,
            min_spend=money(coupon.min_spend, minor_per_unit, currency),
            total=money(subtotal, minor_per_unit, currency),
        )


def evaluate(
    coupons: list[HeldCoupon],
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    today: dt.date,
    lines: list[LineInput],
    minor_per_unit: int = 100,
    currency: str = "CNY",
) -> list[AppliedCoupon]:
    """The discount of each coupon (in the order given), or the error of the first that fails.

    >>> line = LineInput("6901", 2, 5_000)
    >>> c = HeldCoupon(uuid.UUID(int=1), "K7M2QH4WPA3X", uuid.UUID(int=9), "issued", dt.date(2026, 1, 1),
    ...                dt.date(2026, 12, 31), None, "ten-off", "满100减10", "amount_off", amount_off=1_000,
    ...                min_spend=10_000)
    >>> [a.discount for a in evaluate([c], uuid.UUID(int=9), uuid.UUID(int=5), dt.date(2026, 6, 1), [line])]
    [1000]
    """
    subtotal = sum(line.amount for line in lines)
    for coupon in coupons:
        check_usable(coupon, member_id, store_id, today, subtotal, minor_per_unit, currency)
    if len(coupons) > 1:
        for coupon in coupons:
            if not coupon.stackable:
                raise CouponNotStackable(code=coupon.code)
    free_units = {i: line.quantity for i, line in enumerate(lines)}
    left = subtotal
    discounts: dict[int, int] = {}
    for position in sorted(range(len(coupons)), key=lambda i: APPLY_ORDER[coupons[i].kind]):
        coupon = coupons[position]
        if coupon.kind == "free_item":
            candidates = [i for i, line in enumerate(lines) if line.sku == coupon.free_sku and free_units[i] > 0]
            if not candidates:
                raise CouponItemMissing(code=coupon.code, sku=coupon.free_sku)
            cheapest = min(candidates, key=lambda i: lines[i].price)
            free_units[cheapest] -= 1
            off = lines[cheapest].price
        elif coupon.kind == "amount_off":
            off = coupon.amount_off
        else:
            off = left * coupon.percent_off // 100
            if coupon.max_off is not None:
                off = min(off, coupon.max_off)
        off = min(off, left)
        discounts[position] = off
        left -= off
    return [AppliedCoupon(c.code, c.template, c.name, c.kind, discounts[i]) for i, c in enumerate(coupons)]
