"""One sale as a plugin reads it: the sale and its lines (what was sold, and how much of each line
was refunded since), e.g. after a ``purchase.recorded`` or ``sale.refunded`` event."""

from __future__ import annotations

import uuid
from typing import Any

from membership.db import fetch, fetch_one
from membership.db.sql import json_column
from membership.errors import SaleNotFound


async def get_sale(sale_id: uuid.UUID) -> dict[str, Any]:
    """The sale with its lines; ``SaleNotFound`` when there is none.

    Keys: ``id``, ``program_id``, ``member_id``, ``store_id``, ``receipt_no``, ``occurred_at`` (UTC),
    ``total`` (what was paid, minor units), ``subtotal``, ``discount``, ``refunded_amount``,
    ``status`` (``completed``, ``partially_refunded``, ``refunded``), ``attributes`` (what the till
    said about the sale: ``meal_period``, ``party_size``…) and ``lines``, in order, each with
    ``line_no`` (from 1), ``sku``, ``name``, ``category``, ``brand``, ``labels`` (a list),
    ``quantity``, ``unit_price``, ``amount`` and ``refunded_quantity``.

    Example::

        sale = await get_sale(payload_of(event).sale_id)
        coffees = sum(line["quantity"] - line["refunded_quantity"] for line in sale["lines"]
                      if line["category"] == "咖啡")
    """
    sale = await fetch_one(
        "SELECT id, program_id, member_id, store_id, receipt_no, occurred_at, total, subtotal, discount,"
        " refunded_amount, status, attributes FROM sale WHERE id = {}",
        sale_id,
    )
    if sale is None:
        raise SaleNotFound(sale_id=sale_id)
    lines = await fetch(
        "SELECT line_no, sku, name, category, brand, labels, quantity, unit_price, amount, refunded_quantity"
        " FROM sale_line WHERE sale_id = {} ORDER BY line_no",
        sale_id,
    )
    for line in lines:
        line["labels"] = list(json_column(line["labels"]) or [])
    for key in ("id", "program_id", "member_id", "store_id"):
        sale[key] = uuid.UUID(str(sale[key]))
    return {**sale, "attributes": dict(json_column(sale["attributes"]) or {}), "lines": lines}
