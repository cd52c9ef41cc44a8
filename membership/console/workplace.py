"""Where a staff member works: their merchant's program and the store the counter sells at."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from membership.errors import MemberNotFound, NotConfigured, StoreNotFound
from membership.members.service import member_row
from membership.org.service import ProgramConfig, get_program, list_programs, list_stores
from membership.staff.service import StaffInfo


@dataclasses.dataclass(frozen=True)
class Workplace:
    """The program a console page works on, the store sales are recorded at, and the stores the
    staff member may choose from (one for a store-bound clerk)."""

    program: ProgramConfig
    store_id: uuid.UUID
    stores: list[dict[str, Any]]


async def staff_program(staff: StaffInfo) -> ProgramConfig:
    """The program console pages work on: the staff member's merchant's first program."""
    programs = [p for p in await list_programs() if p.merchant_id == staff.merchant_id]
    if not programs:
        raise NotConfigured(what="program", hint="create a program for this merchant first")
    return programs[0]


async def workplace(staff: StaffInfo, store_id: uuid.UUID | None = None) -> Workplace:
    """The merchant's program and the staff member's store (or ``store_id`` when they may work at
    any of the merchant's stores)."""
    program = await staff_program(staff)
    stores = await list_stores(staff.merchant_id)
    if staff.store_id is not None:
        stores = [s for s in stores if s["id"] == staff.store_id]
    if not stores:
        raise NotConfigured(what="store", hint="create a store for this merchant first")
    chosen = store_id or stores[0]["id"]
    if all(s["id"] != chosen for s in stores):
        raise StoreNotFound(store_id=chosen)
    return Workplace(program, chosen, stores)


def store_from_form(text: str) -> uuid.UUID | None:
    """A store id chosen in a form (empty: none); ``StoreNotFound`` when it is not an id."""
    try:
        return uuid.UUID(text) if text.strip() else None
    except ValueError:
        raise StoreNotFound(store_id=text) from None


async def member_of_merchant(staff: StaffInfo, member_id: uuid.UUID) -> dict[str, Any]:
    """The member row, when the member belongs to the staff member's merchant; else MemberNotFound."""
    row = await member_row(member_id)
    if (await get_program(row["program_id"])).merchant_id != staff.merchant_id:
        raise MemberNotFound(member_id=member_id)
    return row
