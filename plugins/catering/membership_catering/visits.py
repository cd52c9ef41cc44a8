"""Visits (到店): one row per sale the pack settled, with its meal period, service mode, party size
and per-head spend (人均), for the reports and a member's history."""

from __future__ import annotations

import uuid
from typing import Any

from membership.plugin import ProgramConfig, conflict_target, execute, fetch, new_id
from membership_catering.dining import Dining, dining_of
from membership_catering.settings import CateringSettings
from membership_catering.values import now


async def record_visit(program: ProgramConfig, settings: CateringSettings, sale: dict[str, Any]) -> Dining:
    """Keep the sale as a meal, once (a second call for the same sale changes nothing); returns
    the meal as the pack reads it."""
    dining = dining_of(program, settings, sale["attributes"], sale["occurred_at"], sale["total"])
    await execute(
        "INSERT INTO catering_visit (id, program_id, sale_id, member_id, store_id, occurred_at, meal_period,"
        " service_mode, party_size, total, per_head, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT " + await conflict_target("sale_id") + " DO NOTHING",
        new_id(),
        program.id,
        sale["id"],
        sale["member_id"],
        sale["store_id"],
        sale["occurred_at"],
        dining.meal_period,
        dining.service_mode,
        dining.party_size,
        dining.total,
        dining.per_head,
        now(),
    )
    return dining


async def member_visits(member_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """The member's latest meals, newest first: when, where (store code), meal period, service
    mode, party size, what was paid and per head, and what was refunded since."""
    return await fetch(
        "SELECT v.sale_id, v.occurred_at, st.code AS store, v.meal_period, v.service_mode, v.party_size, v.total,"
        " v.per_head, s.refunded_amount FROM catering_visit v JOIN sale s ON s.program_id = v.program_id AND s.id ="
        " v.sale_id"
        " JOIN store st ON st.id = v.store_id WHERE v.member_id = {} ORDER BY v.occurred_at DESC LIMIT {}",
        member_id,
        limit,
    )
