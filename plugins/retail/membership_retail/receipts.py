"""Late earning by receipt (小票补录积分).

How the receipt is known: the tills send the pack every sale they record **without** a member
(``POST /api/v1/retail/receipts``: store, receipt number, time and the lines as paid), and the
pack keeps them. A member who forgot their card claims a receipt later (the app or mini-program
through ``POST /api/v1/retail/claims``, or a clerk at the counter through the console), naming the
store and the receipt number printed on it:

* the receipt must be one a till of the program sent (``receipt_not_found`` otherwise): nobody
  can make up a receipt, and nobody types amounts;
* within the program's ``claim_days`` after the day of purchase (``claim_too_late``);
* once: the claim is unique per receipt (``receipt_claimed``; two claims at once: one wins);
* the claim becomes the member's purchase through the kernel (``record_purchase`` at the
  receipt's store with its receipt number), so the points rules, tiers, caps and refunds work as
  for any sale, and a receipt a till already recorded for a member cannot earn twice (the
  kernel's receipt number check). The sale is dated when it is claimed (points are written
  then; the kernel's back-dating window is for tills' queues); the receipt keeps its own time.
  No member price applies to it: it was paid at the listed prices.

Receipts nobody claimed are forgotten ``claim_days`` after the claim window by the
``retail-forget-receipts`` job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from membership.plugin import (
    LineInput,
    ProgramConfig,
    Reason,
    ValidationError,
    conflict_target,
    fetch,
    fetch_one,
    new_id,
    record_purchase,
    use_case,
)
from membership_retail.errors import ClaimTooLate, ReceiptClaimed, ReceiptDiffers, ReceiptNotFound
from membership_retail.member_prices import CLAIM_ATTRIBUTE
from membership_retail.settings import settings_of

FUTURE_TOLERANCE = dt.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Receipt:
    """A receipt a till sent without a member."""

    id: uuid.UUID
    store_id: uuid.UUID
    receipt_no: str
    occurred_at: dt.datetime
    total: int
    lines: tuple[LineInput, ...]
    claimed: bool = False


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    """A claimed receipt: the purchase it became and the points it earned."""

    receipt_no: str
    store_id: uuid.UUID
    sale_id: uuid.UUID
    member_id: uuid.UUID
    total: int
    points_earned: int
    bought_at: dt.datetime


def _line_data(line: LineInput) -> dict[str, Any]:
    data = {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price, "name": line.name}
    data.update({k: v for k, v in (("category", line.category), ("brand", line.brand)) if v})
    return data


def _lines_of(text: str) -> tuple[LineInput, ...]:
    return tuple(LineInput(**data) for data in json.loads(text))


def _checked(receipt_no: str, occurred_at: dt.datetime, lines: list[LineInput], now: dt.datetime) -> None:
    if not 1 <= len(receipt_no) <= 64:
        raise ValidationError(field="receipt_no", reason=Reason("1 to 64 characters", "1 到 64 个字符"))
    if occurred_at.tzinfo is None:
        raise ValidationError(field="occurred_at", reason=Reason("needs a time zone offset", "须带时区偏移"))
    if occurred_at > now + FUTURE_TOLERANCE:
        raise ValidationError(field="occurred_at", reason=Reason("is in the future", "不能是将来的时间"))
    if not 1 <= len(lines) <= 500:
        raise ValidationError(field="lines", reason=Reason("1 to 500 lines", "须为 1 到 500 行商品"))
    for i, line in enumerate(lines, 1):
        if not 1 <= len(line.sku) <= 64 or line.quantity < 1 or line.unit_price < 0:
            raise ValidationError(
                field=f"lines[{i}]",
                reason=Reason("a SKU, a quantity ≥ 1 and a unit price ≥ 0", "须有商品编码、数量 ≥ 1、单价 ≥ 0"),
            )


@use_case
async def keep_receipt(
    program: ProgramConfig,
    store_id: uuid.UUID,
    receipt_no: str,
    occurred_at: dt.datetime,
    lines: list[LineInput],
    now: dt.datetime | None = None,
) -> tuple[Receipt, bool]:
    """Keep a receipt a till recorded without a member (lines as paid); returns it and whether it
    is new. The same receipt sent again is answered with the one kept; the same number with other
    lines or another time is refused (``receipt_differs``)."""
    now = now or dt.datetime.now(dt.UTC)
    _checked(receipt_no, occurred_at, lines, now)
    occurred_at = occurred_at.astimezone(dt.UTC)
    total = sum(line.amount for line in lines)
    encoded = json.dumps([_line_data(line) for line in lines], ensure_ascii=False)
    inserted = await fetch(
        "INSERT INTO retail_receipt (id, program_id, store_id, receipt_no, occurred_at, total, lines, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT "
        + await conflict_target("store_id", "receipt_no")
        + " DO NOTHING RETURNING id",
        new_id(),
        program.id,
        store_id,
        receipt_no,
        occurred_at,
        total,
        encoded,
        now,
    )
    kept = await receipt_at(program.id, store_id, receipt_no)
    if kept is None:  # pragma: no cover - inserted or there already
        raise ReceiptNotFound(receipt_no=receipt_no)
    if not inserted and (kept.occurred_at != occurred_at or [_line_data(x) for x in kept.lines] != json.loads(encoded)):
        raise ReceiptDiffers(receipt_no=receipt_no)
    return kept, bool(inserted)


async def receipt_at(program_id: uuid.UUID, store_id: uuid.UUID, receipt_no: str) -> Receipt | None:
    """The receipt with this number from this store, if a till of the program sent it."""
    row = await fetch_one(
        "SELECT r.*, c.id AS claim_id FROM retail_receipt r LEFT JOIN retail_claim c ON c.program_id = r.program_id"
        " AND c.receipt_id = r.id"
        " WHERE r.store_id = {} AND r.receipt_no = {} AND r.program_id = {}",
        store_id,
        receipt_no,
        program_id,
    )
    if row is None:
        return None
    return Receipt(
        row["id"],
        row["store_id"],
        row["receipt_no"],
        row["occurred_at"],
        int(row["total"]),
        _lines_of(row["lines"]),
        row["claim_id"] is not None,
    )


@use_case
async def claim_receipt(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    receipt_no: str,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> ClaimResult:
    """Give ``member_id`` the points of a receipt the till recorded without them (补录积分); see the
    module for the rules. One transaction: the claim and the purchase it becomes."""
    now = now or dt.datetime.now(dt.UTC)
    receipt = await receipt_at(program.id, store_id, receipt_no.strip())
    if receipt is None:
        raise ReceiptNotFound(receipt_no=receipt_no)
    claimed = await fetch_one("SELECT claimed_at FROM retail_claim WHERE receipt_id = {}", receipt.id)
    if claimed is not None:
        on = claimed["claimed_at"].astimezone(program.zone).date().isoformat()
        raise ReceiptClaimed(receipt_no=receipt.receipt_no, claimed_on=on)
    days = settings_of(program).claim_days
    bought_on = receipt.occurred_at.astimezone(program.zone).date()
    if (now.astimezone(program.zone).date() - bought_on).days > days:
        raise ClaimTooLate(receipt_no=receipt.receipt_no, bought_on=bought_on.isoformat(), days=days)
    claim_id = new_id()
    await fetch(
        "INSERT INTO retail_claim (id, program_id, receipt_id, member_id, points_earned, actor, claimed_at)"
        " VALUES ({}, {}, {}, {}, 0, {}, {})",
        claim_id,
        program.id,
        receipt.id,
        member_id,
        actor[:100],
        now,
    )
    sale = await record_purchase(
        program.id,
        receipt.store_id,
        member_id,
        list(receipt.lines),
        receipt_no=receipt.receipt_no,
        idempotency_key=f"retail-claim:{receipt.id}",
        actor=actor,
        now=now,
        attributes={CLAIM_ATTRIBUTE: receipt.receipt_no, "receipt_time": receipt.occurred_at.isoformat()},
    )
    await fetch(
        "UPDATE retail_claim SET sale_id = {}, points_earned = {} WHERE program_id = {} AND id = {}",
        sale.id,
        sale.points_earned,
        program.id,
        claim_id,
    )
    return ClaimResult(
        receipt.receipt_no, receipt.store_id, sale.id, member_id, sale.total, sale.points_earned, receipt.occurred_at
    )


async def recent_claims(program_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The latest claims, newest first, with their receipts."""
    return await fetch(
        "SELECT c.claimed_at, c.member_id, c.points_earned, c.actor, r.receipt_no, r.store_id, r.occurred_at,"
        " r.total FROM retail_claim c JOIN retail_receipt r ON r.program_id = c.program_id AND r.id = c.receipt_id"
        " WHERE c.program_id = {}"
        " ORDER BY c.claimed_at DESC LIMIT {}",
        program_id,
        limit,
    )


async def receipt_counts(program: ProgramConfig, now: dt.datetime) -> dict[str, int]:
    """How many receipts the tills sent within the claim window, and how many were claimed."""
    since = now - dt.timedelta(days=settings_of(program).claim_days + 1)
    row = await fetch_one(
        "SELECT COUNT(*) AS kept, COUNT(c.id) AS claimed FROM retail_receipt r"
        " LEFT JOIN retail_claim c ON c.program_id = r.program_id AND c.receipt_id = r.id WHERE r.program_id = {}"
        " AND r.occurred_at >= {}",
        program.id,
        since,
    )
    return {"kept": int(row["kept"]), "claimed": int(row["claimed"])}


@use_case
async def forget_receipts(program: ProgramConfig, now: dt.datetime) -> int:
    """Delete the receipts nobody claimed once twice the claim window has passed (claimed ones
    stay, with their claims); returns how many. One set-based statement."""
    before = now - dt.timedelta(days=2 * settings_of(program).claim_days + 1)
    gone = await fetch(
        "DELETE FROM retail_receipt WHERE program_id = {} AND occurred_at < {}"
        " AND NOT EXISTS (SELECT 1 FROM retail_claim c WHERE c.program_id = retail_receipt.program_id"
        " AND c.receipt_id = retail_receipt.id) RETURNING id",
        program.id,
        before,
    )
    return len(gone)
