"""Gates (闸机/检票口): the entrances of the scenic area, each at a venue (a store of the merchant).
A gate's terminal calls ``POST /api/v1/tourism/entries`` with its code and what the visitor
showed; entries are counted per gate and per day."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from membership.plugin import ProgramConfig, ValidationError, execute, fetch, fetch_one, get_program, new_id, use_case
from membership_tourism.errors import GateNotFound
from membership_tourism.values import check_code, now
from membership_tourism.venues import store_of


class GateTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A gate's name, the store (id or code) it stands at, and whether it is in use."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    store: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    active: bool = True


async def list_gates(program: ProgramConfig) -> list[dict[str, Any]]:
    """The program's gates by code, with their store's code and name."""
    return await fetch(
        "SELECT g.id, g.code, g.name, g.active, g.store_id, st.code AS store_code, st.name AS store_name,"
        " g.updated_by, g.updated_at FROM tourism_gate g JOIN store st ON st.id = g.store_id"
        " WHERE g.program_id = {} ORDER BY g.code",
        program.id,
    )


async def get_gate(program: ProgramConfig, code: str) -> dict[str, Any]:
    """The gate ``code``; ``GateNotFound`` when the program has none."""
    row = await fetch_one("SELECT * FROM tourism_gate WHERE program_id = {} AND code = {}", program.id, code)
    if row is None:
        raise GateNotFound(code=code)
    return row


@use_case
async def save_gate(program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Add the gate ``code`` or change it (``active: false`` switches it off)."""
    check_code(code)
    try:
        terms = msgspec.convert(data, GateTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "gate", reason=reason) from None
    program = await get_program(program_id)
    store = await store_of(program, terms.store)
    at = now()
    await execute(
        "INSERT INTO tourism_gate (id, program_id, store_id, code, name, active, updated_by, created_at, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (program_id, code) DO UPDATE SET"
        " store_id = excluded.store_id, name = excluded.name, active = excluded.active,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        new_id(),
        program.id,
        store["id"],
        code,
        terms.name.strip(),
        terms.active,
        actor[:100],
        at,
        at,
    )
    return next(gate for gate in await list_gates(program) if gate["code"] == code)
