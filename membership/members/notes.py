"""Staff notes about a member (会员备注): "prefers window seats", "called about a late delivery".
A note may say personal things, so it is sealed under the member's data key like their phone
(unreadable once the member is erased); adding and removing one is audited."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.errors import Reason, ValidationError
from membership.members import personal_data as pd
from membership.members.rotation import member_cipher
from membership.members.service import active_member

MAX_LENGTH = 500
FIELD = "note"


async def _cipher(member_id: uuid.UUID) -> tuple[dict[str, Any], pd.MemberCipher]:
    """The member's row and cipher (a member from before data keys gets one first)."""
    row = await active_member(member_id)
    return row, await member_cipher(row)


@use_case
async def add_note(member_id: uuid.UUID, text: str, actor: str) -> uuid.UUID:
    """Keep a note about the member (1 to :data:`MAX_LENGTH` characters); audited, without its text."""
    text = text.strip()
    if not 0 < len(text) <= MAX_LENGTH:
        raise ValidationError(field="note", reason=Reason(f"1 to {MAX_LENGTH} characters", f"1 到 {MAX_LENGTH} 个字符"))
    row, cipher = await _cipher(member_id)
    note_id = new_id()
    await fetch(
        "INSERT INTO member_note (id, program_id, member_id, body_enc, author, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {})",
        note_id,
        row["program_id"],
        member_id,
        cipher.seal(FIELD, text),
        actor,
        dt.datetime.now(dt.UTC),
    )
    await audit.record(actor, "member.note.add", "member", member_id, row["program_id"], {"note": str(note_id)})
    return note_id


@use_case
async def remove_note(member_id: uuid.UUID, note_id: uuid.UUID, actor: str) -> None:
    """Remove a note of the member's; audited (who removed which note)."""
    row = await active_member(member_id)
    found = await fetch_one("SELECT id FROM member_note WHERE id = {} AND member_id = {}", note_id, member_id)
    if found is None:
        raise ValidationError(field="note", reason=Reason("no such note", "没有这条备注"))
    await fetch("DELETE FROM member_note WHERE program_id = {} AND id = {}", row["program_id"], note_id)
    await audit.record(actor, "member.note.remove", "member", member_id, row["program_id"], {"note": str(note_id)})


async def member_notes(member_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The member's notes, newest first (``id``, ``text``, ``author``, ``created_at``), in one
    statement; none for an erased member, whose data key is gone."""
    rows = await fetch(
        "SELECT n.id, n.body_enc, n.author, n.created_at, m.id AS member, m.data_key, m.key_fp, m.status"
        " FROM member_note n JOIN member m ON m.program_id = n.program_id AND m.id = n.member_id WHERE n.member_id = {}"
        " ORDER BY n.created_at DESC, n.id LIMIT {}",
        member_id,
        limit,
    )
    if not rows or rows[0]["status"] == "erased" or rows[0]["data_key"] is None:
        return []
    cipher = pd.member_cipher({**rows[0], "id": rows[0]["member"]})
    return [
        {"id": n["id"], "text": cipher.open(FIELD, n["body_enc"]), "author": n["author"], "created_at": n["created_at"]}
        for n in rows
    ]
