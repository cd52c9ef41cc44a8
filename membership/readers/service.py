"""Reader use cases: resolve what a reader saw to a member, record it, list recent reads."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from membership.db import execute, fetch, new_id, placeholders, use_case
from membership.errors import CredentialNotFound, MembershipError, Reason, ValidationError
from membership.members.credentials import credential_kind
from membership.members.service import identify
from membership.plugins import hooks
from membership.readers.interface import CredentialRead, ReaderDriver, ReaderEvent

MAX_RAW_HEX = 64


class ReadOutcome(msgspec.Struct, frozen=True):
    """A recorded read, as the listener prints it and counter screens receive it.

    ``outcome`` is ``member``, ``unknown``, ``refused`` or ``fault``; ``value`` is set only for
    ``unknown`` (so the counter can offer to issue the card); ``message`` is the error code of a
    refused card (``credential_blocked``…) or the driver's reason for a fault.
    """

    id: uuid.UUID
    program_id: uuid.UUID
    store_id: uuid.UUID | None
    station: str
    driver: str
    outcome: str
    kind: str
    hint: str
    value: str | None
    member_id: uuid.UUID | None
    member_no: str | None
    member_name: str | None
    member_tier: str | None
    detail: str
    message: str
    occurred_at: dt.datetime

    def as_json(self) -> str:
        """The outcome as JSON text (what the event stream sends)."""
        return msgspec.json.encode(self).decode()


def driver_class(name: str) -> type[ReaderDriver]:
    """The registered driver called ``name``; refused with the list of known drivers."""
    drivers = hooks().reader_drivers()
    if name not in drivers:
        known = ", ".join(sorted(drivers)) or "none (install membership-readers-serial)"
        raise ValidationError(
            field="driver",
            reason=Reason(f"unknown driver {name!r} (known: {known})", f"未知的读卡器驱动 {name!r}（可用：{known}）"),
        )
    return drivers[name]


async def record_read(
    program_id: uuid.UUID, store_id: uuid.UUID | None, station: str, driver: str, event: ReaderEvent
) -> ReadOutcome:
    """Resolve ``event`` through the identity hooks and record it (刷卡): a known member, an
    unknown card, a refused card (blocked, lost, replaced; a kind nobody registered; a value the
    kind's normaliser refuses) or a reader fault. The hint is the kind's mask of the canonical
    value; a secret kind's read keeps neither hint nor value."""
    row: dict[str, Any] = {"kind": "", "hint": "", "value": None, "member_id": None, "message": ""}
    if isinstance(event, CredentialRead):
        row.update(kind=event.kind, detail=event.detail)
        try:
            spec = credential_kind(event.kind)
            canonical = hooks().normalize_credential(event.kind, event.value)
            row.update(hint=spec.hint_of(canonical))
            row.update(outcome="member", member_id=await identify(program_id, event.kind, event.value))
        except CredentialNotFound:
            row.update(outcome="unknown", value=None if spec.secret else canonical)
        except MembershipError as exc:
            row.update(outcome="refused", message=exc.code)
    else:
        row.update(outcome="fault", message=event.reason[:200], detail=event.raw.hex(" ")[: MAX_RAW_HEX * 3])
    read_id = await _insert(program_id, store_id, station[:100], driver[:50], row)
    return (await recent_reads(program_id, read_ids=[read_id]))[0]


@use_case
async def _insert(
    program_id: uuid.UUID, store_id: uuid.UUID | None, station: str, driver: str, row: dict[str, Any]
) -> uuid.UUID:
    read_id = new_id()
    await execute(
        "INSERT INTO reader_read (id, program_id, store_id, station, driver, outcome, kind, hint, value, member_id,"
        " detail, message, occurred_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        read_id,
        program_id,
        store_id,
        station,
        driver,
        row["outcome"],
        row["kind"],
        row["hint"],
        row["value"],
        row["member_id"],
        row["detail"][:200],
        row["message"],
        dt.datetime.now(dt.UTC),
    )
    return read_id


async def recent_reads(
    program_id: uuid.UUID | None = None,
    store_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    read_ids: list[uuid.UUID] | None = None,
    limit: int = 50,
) -> list[ReadOutcome]:
    """Reads, oldest first: of a program (and store), after ``since``, or the ones named."""
    where, args = ["1 = 1"], []
    for column, value in (("r.program_id", program_id), ("r.store_id", store_id)):
        if value is not None:
            where.append(f"{column} = {{}}")
            args.append(value)
    if since is not None:
        where.append("r.occurred_at > {}")
        args.append(since)
    if read_ids is not None:
        where.append("r.id IN (" + placeholders(read_ids) + ")")
        args.extend(read_ids)
    rows = await fetch(
        "SELECT * FROM (SELECT r.id, r.program_id, r.store_id, r.station, r.driver, r.outcome, r.kind, r.hint,"
        " r.value, r.member_id, m.member_no, m.name AS member_name, m.tier AS member_tier, r.detail, r.message,"
        " r.occurred_at FROM reader_read r LEFT JOIN member m ON m.program_id = r.program_id AND m.id = r.member_id"
        f" WHERE {' AND '.join(where)} ORDER BY r.occurred_at DESC, r.id LIMIT {{}}) latest"
        " ORDER BY occurred_at, id",
        *args,
        limit,
    )
    return [ReadOutcome(**row) for row in rows]


@use_case
async def prune_reads(before: dt.datetime) -> int:
    """Delete reads older than ``before`` (they only serve the counter screens)."""
    # every program: a retention purge by date
    rows = await fetch("DELETE FROM reader_read WHERE occurred_at < {} RETURNING id", before)
    return len(rows)
