"""Coupons at the till (核销): check a sale's coupons and compute their discounts, mark them used by
the sale exactly once, and give them back when the whole sale is refunded. These functions run
inside the purchase's or the refund's transaction (:mod:`membership.sales.service`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from membership.audit import service as audit
from membership.coupons.discounts import AppliedCoupon, HeldCoupon, evaluate
from membership.coupons.service import COUPON_SELECT, date_of, local_today, normalise_code, uuids_of, well_formed
from membership.db import emit, fetch, fetch_one, placeholders
from membership.errors import CouponAlreadyRedeemed, CouponNotFound, Reason, ValidationError
from membership.events import Event
from membership.ledger.rules import LineInput
from membership.org.service import ProgramConfig


@dataclasses.dataclass(frozen=True)
class Quote:
    """The coupons of a sale and their discounts, checked but not yet redeemed."""

    applied: tuple[AppliedCoupon, ...]
    ids: tuple[uuid.UUID, ...]

    @property
    def discount(self) -> int:
        """What the coupons take off together."""
        return sum(a.discount for a in self.applied)


NO_COUPONS = Quote((), ())


def held_coupon(row: dict[str, Any]) -> HeldCoupon:
    """A coupon (a row with its template's terms, as :data:`COUPON_SELECT` reads it) as the
    rules of :mod:`membership.coupons.discounts` read it."""
    return HeldCoupon(
        id=row["id"],
        code=row["code"],
        member_id=uuid.UUID(str(row["member_id"])),
        state=row["state"],
        valid_from=date_of(row["valid_from"]),
        valid_until=date_of(row["valid_until"]),
        sale_id=row["sale_id"],
        template=row["template"],
        name=row["name"],
        kind=row["kind"],
        amount_off=int(row["amount_off"]),
        percent_off=int(row["percent_off"]),
        max_off=None if row["max_off"] is None else int(row["max_off"]),
        free_sku=row["free_sku"],
        min_spend=int(row["min_spend"]),
        store_ids=tuple(uuids_of(row["store_ids"])),
        stackable=bool(row["stackable"]),
    )


def checked_codes(codes: list[str]) -> list[str]:
    """The codes as stored; a code given twice is refused."""
    normalised = [normalise_code(c) for c in codes]
    for given, code in zip(codes, normalised, strict=True):
        if not well_formed(code):
            raise CouponNotFound(code=given)
        if normalised.count(code) > 1:
            raise ValidationError(
                field="coupons", reason=Reason(f"coupon {code} is given more than once", f"优惠券 {code} 重复出现")
            )
    return normalised


async def quote(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    codes: list[str],
    lines: list[LineInput],
    occurred_at: dt.datetime,
    extra: Sequence[HeldCoupon] = (),
) -> Quote:
    """Check the coupons for this sale (local date of ``occurred_at``) and compute their
    discounts; writes nothing. Raises the first coupon's reason (see
    :mod:`membership.coupons.discounts`); a code unknown in the program is ``CouponNotFound``.
    ``extra`` are coupons already read, quoted after ``codes`` (the coupons of rewards redeemed
    in the sale, :mod:`membership.rewards.redeeming`)."""
    if not codes and not extra:
        return NO_COUPONS
    wanted = checked_codes(codes)
    by_code = {}
    if wanted:
        marks = placeholders(wanted)
        rows = await fetch(COUPON_SELECT + f" WHERE c.code IN ({marks}) AND c.program_id = {{}}", *wanted, program.id)
        by_code = {row["code"]: row for row in rows}
    for code in wanted:
        if code not in by_code:
            raise CouponNotFound(code=code)
    held = [*(held_coupon(by_code[code]) for code in wanted), *extra]
    today = occurred_at.astimezone(program.zone).date()
    applied = evaluate(held, member_id, store_id, today, lines, program.minor_per_unit, program.currency)
    return Quote(tuple(applied), tuple(c.id for c in held))


async def redeem(
    program: ProgramConfig,
    member_id: uuid.UUID,
    quoted: Quote,
    sale_id: uuid.UUID,
    store_id: uuid.UUID,
    now: dt.datetime,
) -> None:
    """Mark the quoted coupons used by ``sale_id``, inside the purchase's transaction. A coupon
    another sale took meanwhile is refused (``CouponAlreadyRedeemed``) and the purchase rolls
    back."""
    for coupon_id, applied in zip(quoted.ids, quoted.applied, strict=True):
        taken = await fetch(
            "UPDATE coupon SET state = 'redeemed', redeemed_at = {}, sale_id = {}, store_id = {}, discount = {},"
            " changed_at = {} WHERE program_id = {} AND id = {} AND state = 'issued' RETURNING id",
            now,
            sale_id,
            store_id,
            applied.discount,
            now,
            program.id,
            coupon_id,
        )
        if not taken:
            row = await fetch_one("SELECT sale_id FROM coupon WHERE id = {}", coupon_id)
            raise CouponAlreadyRedeemed(code=applied.code, sale_id=row["sale_id"] if row else None)
        emit(
            Event(
                "coupon.redeemed",
                program.id,
                member_id,
                {"code": applied.code, "template": applied.template, "sale_id": sale_id, "discount": applied.discount},
            )
        )


async def give_back(program: ProgramConfig, sale_id: uuid.UUID, now: dt.datetime, actor: str) -> list[str]:
    """A wholly refunded sale gives its coupons back: usable again (``issued``) while within their
    validity, else ``expired``. Inside the refund's transaction; returns the codes given back
    usable. Audited, with the sale and the discount it had."""
    today = local_today(program, now)
    rows = await fetch(
        "UPDATE coupon SET state = CASE WHEN valid_until >= {} THEN 'issued' ELSE 'expired' END,"
        " redeemed_at = NULL, sale_id = NULL, store_id = NULL, discount = 0, changed_at = {}"
        " WHERE program_id = {} AND sale_id = {} AND state = 'redeemed' RETURNING code, state, member_id",
        today,
        now,
        program.id,
        sale_id,
    )
    for row in rows:
        details = {"sale_id": str(sale_id), "state": row["state"]}
        await audit.record(actor, "coupon.return", "coupon", row["code"], program.id, details)
    return sorted(row["code"] for row in rows if row["state"] == "issued")
