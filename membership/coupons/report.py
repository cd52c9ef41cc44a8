"""The coupon report (优惠券报表), per template, computed in the database."""

from __future__ import annotations

import uuid
from typing import Any

from membership.coupons.service import TEMPLATE_CODE
from membership.db import fetch, fetch_one
from membership.errors import CouponTemplateNotFound

_REPORT = (
    "SELECT t.code, t.name, t.kind, t.issue_on, t.active, COUNT(c.id) AS issued,"
    " COALESCE(SUM(CASE WHEN c.state = 'issued' THEN 1 ELSE 0 END), 0) AS outstanding,"
    " COALESCE(SUM(CASE WHEN c.state = 'redeemed' THEN 1 ELSE 0 END), 0) AS redeemed,"
    " COALESCE(SUM(CASE WHEN c.state = 'expired' THEN 1 ELSE 0 END), 0) AS expired,"
    " COALESCE(SUM(CASE WHEN c.state = 'void' THEN 1 ELSE 0 END), 0) AS voided,"
    " CAST(COALESCE(SUM(CASE WHEN c.state = 'redeemed' THEN c.discount ELSE 0 END), 0) AS BIGINT) AS discount"
    " FROM coupon_template t LEFT JOIN coupon c ON c.program_id = t.program_id AND c.template_id = t.id WHERE"
    " t.program_id = {}"
)


def _report_row(row: dict[str, Any]) -> dict[str, Any]:
    counts = {k: int(row[k]) for k in ("issued", "outstanding", "redeemed", "expired", "voided")}
    usable = counts["issued"] - counts["voided"]
    rate = round(counts["redeemed"] / usable, 4) if usable else 0.0
    return {
        "template": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "issue_on": row["issue_on"],
        "active": bool(row["active"]),
        **counts,
        "redemption_rate": rate,
        "discount_total": int(row["discount"]),
    }


async def report(program_id: uuid.UUID, page: int = 1, page_size: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Per template, by code: coupons issued, still usable (``outstanding``), redeemed, expired and
    voided; the redemption rate (redeemed ÷ issued less voided) and the total discount given. A
    coupon given back by a refund counts as usable again, its discount no longer counted."""
    total = await fetch_one("SELECT COUNT(*) AS n FROM coupon_template WHERE program_id = {}", program_id)
    rows = await fetch(
        _REPORT + " GROUP BY t.id, t.code, t.name, t.kind, t.issue_on, t.active ORDER BY t.code LIMIT {} OFFSET {}",
        program_id,
        page_size,
        (page - 1) * page_size,
    )
    return [_report_row(row) for row in rows], int(total["n"])


async def template_report(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """:func:`report` for one template."""
    if not TEMPLATE_CODE.match(code):
        raise CouponTemplateNotFound(code=code)
    row = await fetch_one(
        _REPORT + " AND t.code = {} GROUP BY t.id, t.code, t.name, t.kind, t.issue_on, t.active", program_id, code
    )
    if row is None:
        raise CouponTemplateNotFound(code=code)
    return _report_row(row)
