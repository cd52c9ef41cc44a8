"""What the counter offers to pick from: the items a store sold lately (a SKU with its name,
category and listed price, as last sold) and the categories its sales and points rules name.

The kernel keeps no catalogue (a pack such as retail does); the lines a store has sold are the
counter's memory: a scanned SKU sold before comes back with its name, category and price.
"""

from __future__ import annotations

import dataclasses
import uuid

from membership.db import fetch, fetch_one
from membership.ledger.points_rules import active_rules

SCAN_LINES = 300  # how many of the store's latest lines the recent list looks through


@dataclasses.dataclass(frozen=True)
class RecentItem:
    """A SKU as it was last sold: name, category and listed unit price (minor units)."""

    sku: str
    name: str
    category: str
    unit_price: int


async def recent_items(store_id: uuid.UUID, limit: int = 12) -> tuple[list[RecentItem], list[str]]:
    """The ``limit`` SKUs the store sold most recently, newest first (one entry per SKU), and the
    categories of its latest lines (one statement)."""
    rows = await fetch(
        "SELECT l.sku, l.name, l.category, l.unit_price FROM sale_line l JOIN sale s ON s.program_id = l.program_id"
        " AND s.id = l.sale_id"
        " WHERE s.store_id = {} ORDER BY s.occurred_at DESC, l.line_no LIMIT {}",
        store_id,
        SCAN_LINES,
    )
    found: dict[str, RecentItem] = {}
    for row in rows:
        if row["sku"] not in found and len(found) < limit:
            found[row["sku"]] = RecentItem(row["sku"], row["name"], row["category"], int(row["unit_price"]))
    return list(found.values()), sorted({row["category"] for row in rows if row["category"]})


async def item_for(program_id: uuid.UUID, sku: str) -> RecentItem | None:
    """The SKU as the program's stores last sold it, or None when it was never sold."""
    row = await fetch_one(
        "SELECT l.sku, l.name, l.category, l.unit_price FROM sale_line l JOIN sale s ON s.program_id = l.program_id"
        " AND s.id = l.sale_id"
        " WHERE s.program_id = {} AND l.sku = {} ORDER BY s.occurred_at DESC LIMIT 1",
        program_id,
        sku,
    )
    return RecentItem(row["sku"], row["name"], row["category"], int(row["unit_price"])) if row else None


async def known_categories(program_id: uuid.UUID, seen: list[str]) -> list[str]:
    """The categories the program's active points rules name (so a category rule can fire from
    the counter) with those ``seen`` in the store's latest lines, sorted."""
    names = set(seen)
    for rule in await active_rules(program_id):
        names.update(str(c) for c in rule.params.get("categories", ()) if c)
    return sorted(names)
