"""Tastes (口味偏好) and allergies (过敏) of a member, with a note for the kitchen: kept in the
pack's table by member, edited on the console page 会员口味与集点 and through
``PUT /api/v1/catering/members/{id}/preferences``, and shown to the counter when it opens the
member. Allergies are health data and the note is free text: both are sealed under the member's
data key (``seal_member_secret``), like the kernel's personal data, and unreadable once the member
is erased; the erasure (``member.erased``) also deletes the row."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import msgspec

from membership.plugin import (
    MembershipError,
    ValidationError,
    conflict_target,
    execute,
    fetch_one,
    open_member_secret,
    seal_member_secret,
    use_case,
)
from membership_catering.values import as_list, now, to_json

ALLERGIES, NOTE = "catering:allergies", "catering:note"

Word = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
TASTES = ("不辣", "微辣", "中辣", "重辣", "少盐", "少油", "少糖", "去冰", "热饮", "不要香菜", "不要葱蒜", "素食")
ALLERGENS = ("花生", "坚果", "虾蟹", "海鲜", "鸡蛋", "牛奶", "小麦麸质", "大豆", "芝麻", "芒果")


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A member's tastes, allergies (each at most 20 words of 32 characters) and a note."""

    tastes: Annotated[list[Word], msgspec.Meta(max_length=20)] = []
    allergies: Annotated[list[Word], msgspec.Meta(max_length=20)] = []
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


def check(data: dict[str, Any]) -> PreferencesIn:
    """``data`` as checked preferences (words trimmed, repeats dropped)."""
    try:
        found = msgspec.convert(data, PreferencesIn)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "preferences", reason=reason) from None
    return PreferencesIn(
        tastes=list(dict.fromkeys(w.strip() for w in found.tastes if w.strip())),
        allergies=list(dict.fromkeys(w.strip() for w in found.allergies if w.strip())),
        note=found.note.strip(),
    )


async def get_preferences(member_id: uuid.UUID) -> dict[str, Any]:
    """The member's tastes, allergies and note (empty when none were kept, or the member was
    erased)."""
    row = await fetch_one("SELECT * FROM catering_preference WHERE member_id = {}", member_id)
    if row is None:
        return {"tastes": [], "allergies": [], "note": "", "updated_by": "", "updated_at": None}
    allergies = await _open(member_id, ALLERGIES, row["allergies"])
    return {
        "tastes": as_list(row["tastes"]),
        "allergies": json.loads(allergies) if allergies else [],
        "note": await _open(member_id, NOTE, row["note"]),
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
    }


async def _open(member_id: uuid.UUID, field: str, sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return await open_member_secret(member_id, field, sealed)
    except MembershipError:  # the member was erased: their data key is gone
        return ""


@use_case
async def save_preferences(
    program_id: uuid.UUID, member_id: uuid.UUID, data: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Replace the member's tastes, allergies and note (allergies and note sealed); returns them."""
    found = check(data)
    allergies = await seal_member_secret(member_id, ALLERGIES, to_json(found.allergies)) if found.allergies else ""
    note = await seal_member_secret(member_id, NOTE, found.note) if found.note else ""
    await execute(
        "INSERT INTO catering_preference (member_id, program_id, tastes, allergies, note, updated_by, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT "
        + await conflict_target("member_id")
        + " DO UPDATE SET tastes = excluded.tastes,"
        " allergies = excluded.allergies, note = excluded.note, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        member_id,
        program_id,
        to_json(found.tastes),
        allergies,
        note,
        actor[:100],
        now(),
    )
    return await get_preferences(member_id)


async def forget(program_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """Delete the member's tastes and allergies (the member was erased); inside a use case."""
    await execute("DELETE FROM catering_preference WHERE program_id = {} AND member_id = {}", program_id, member_id)


def notes(preferences: dict[str, Any], language: str) -> list[str]:
    """What the counter reads about the member's food: allergies first."""
    en = language == "en"
    found = []
    if preferences["allergies"]:
        found.append(("⚠ Allergies: " if en else "⚠ 过敏：") + "、".join(preferences["allergies"]))
    if preferences["tastes"]:
        found.append(("Tastes: " if en else "口味：") + "、".join(preferences["tastes"]))
    if preferences["note"]:
        found.append(("Note: " if en else "备注：") + preferences["note"])
    return found
