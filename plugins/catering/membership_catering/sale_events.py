"""What the pack does after a purchase or a refund committed (the kernel's outbox delivers the
events at least once): record the meal, settle the sale's stamps; and after a member's erasure,
forget their tastes and allergies. Each event is handled once: its id is kept in
``catering_event`` in the same transaction as what it changed."""

from __future__ import annotations

import uuid

from membership.plugin import Event, fetch, get_program, get_sale, payload_of, plugin_settings, use_case
from membership_catering import preferences
from membership_catering.settings import NAME, CateringSettings
from membership_catering.stamps import settle_sale
from membership_catering.values import now
from membership_catering.visits import record_visit

HANDLED = ("purchase.recorded", "sale.refunded", "member.erased")


@use_case
async def handle(event: Event) -> bool:
    """Handle ``event`` in one transaction, unless its id was handled before; True when it was
    handled now."""
    first = await fetch(
        "INSERT INTO catering_event (event_id, name, handled_at) VALUES ({}, {}, {})"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        event.id,
        event.name,
        now(),
    )
    if not first:
        return False
    if event.name == "member.erased" and event.member_id is not None:
        await preferences.forget(event.program_id, event.member_id)
        return True
    await settle(payload_of(event).sale_id)
    return True


async def settle(sale_id: uuid.UUID) -> int:
    """Record the sale's meal and settle its stamps (inside the caller's use case); returns the
    stamps moved."""
    sale = await get_sale(sale_id)
    program = await get_program(sale["program_id"])
    await record_visit(program, plugin_settings(program, NAME, CateringSettings), sale)
    return await settle_sale(sale)
