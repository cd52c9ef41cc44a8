"""Who a batch of coupons goes to (批量发券): members named one a line (number, phone or card),
each line found or refused on its own, every active member of a tier, or the members of a CRM
segment (:mod:`membership.crm.segments`) as of now."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid

from membership.crm.segments import segment_where
from membership.db import fetch
from membership.errors import Reason
from membership.members.service import search_members
from membership.org.service import ProgramConfig

MAX_LINES = 2000


@dataclasses.dataclass(frozen=True)
class BadLine:
    """A line that names no single member: its number (from 1), its text and why."""

    line: int
    text: str
    reason: Reason


@dataclasses.dataclass(frozen=True)
class Audience:
    """The members a batch goes to, and the lines that named none."""

    member_ids: list[uuid.UUID]
    bad: list[BadLine]


async def named_members(program_id: uuid.UUID, text: str) -> Audience:
    """The members ``text`` names, one a line (commas also separate); a line naming nobody or
    several members, or beyond :data:`MAX_LINES`, is reported and the others kept."""
    found: list[uuid.UUID] = []
    bad: list[BadLine] = []
    lines = [part.strip() for part in re.split(r"[\n,，;；]", text)]
    for number, name in enumerate(lines, start=1):
        if not name:
            continue
        if number > MAX_LINES:
            bad.append(BadLine(number, name, Reason(f"over {MAX_LINES} lines", f"超过 {MAX_LINES} 行")))
            continue
        members, total = await search_members(program_id, name, page_size=2)
        if total == 1:
            if members[0].id not in found:
                found.append(members[0].id)
        elif total == 0:
            bad.append(BadLine(number, name, Reason("no member found", "找不到会员")))
        else:
            bad.append(
                BadLine(number, name, Reason(f"{total} members match", f"有 {total} 位会员符合，请写手机号或会员号"))
            )
    return Audience(found, bad)


async def tier_members(program_id: uuid.UUID, tier: str) -> list[uuid.UUID]:
    """Every active member of the program holding ``tier``."""
    rows = await fetch(
        "SELECT id FROM member WHERE program_id = {} AND status = 'active' AND tier = {} ORDER BY id", program_id, tier
    )
    return [uuid.UUID(str(row["id"])) for row in rows]


async def segment_members(program: ProgramConfig, code: str) -> list[uuid.UUID]:
    """The active members segment ``code`` holds now (``SegmentNotFound`` for no such segment)."""
    where, args = await segment_where(program, code, dt.datetime.now(dt.UTC))
    rows = await fetch(f"SELECT m.id FROM member m WHERE {where} ORDER BY m.id", *args)
    return [uuid.UUID(str(row["id"])) for row in rows]
