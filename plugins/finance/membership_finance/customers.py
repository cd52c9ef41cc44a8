"""Finding a cardholder the way a bank's staff and files name them: a member number, a bank card
number (found by its keyed hash, through the kernel), or the member's id."""

from __future__ import annotations

import uuid

from membership.plugin import MembershipError, ProgramConfig, fetch_one, identify
from membership_finance.bank_card import NAME as BANK_CARD


async def find_member(program: ProgramConfig, text: str) -> uuid.UUID | None:
    """The active member of the program that ``text`` names (id, member number, bank card or a
    phone number); None if nobody."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        member_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        row = await fetch_one(
            "SELECT id FROM member WHERE id = {} AND program_id = {} AND status = 'active'", member_id, program.id
        )
        return row["id"] if row else None
    row = await fetch_one(
        "SELECT id FROM member WHERE program_id = {} AND member_no = {} AND status = 'active'", program.id, text
    )
    if row:
        return row["id"]
    for kind in (BANK_CARD, "phone"):
        try:
            return await identify(program.id, kind, text)
        except MembershipError:
            continue
    return None
