"""Segments (人群): rule segments evaluated in SQL when asked, static segments from an upload.

A rule segment is never stored as a member list: its count and members are what its rules select
at the moment asked (``now``), so a segment edited in the console shows its new size at once
(:func:`count_definition`). A static segment holds the members a list named (member numbers or
phone numbers), replaced or extended by each upload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from membership.audit import service as audit
from membership.crm import rules
from membership.crm.errors import NotStaticSegment, SegmentExists, SegmentInUse, SegmentNotFound
from membership.crm.rules import Group, parse_definition
from membership.crm.segment_sql import Compiler, SegmentRef, Sql
from membership.db import any_of, fetch, fetch_one, fetch_page, id_set, new_id, use_case
from membership.db.sql import json_column
from membership.errors import InvalidPhone, Reason, ValidationError
from membership.members import personal_data as pd
from membership.org.service import ProgramConfig, get_program, list_stores
from membership.tiers.policy import tier_config

UPLOAD_LIMIT = 100_000
UPLOAD_CHUNK = 1000
KINDS = ("rules", "static")
NOT_A_NUMBER = Reason("neither a member number nor a phone number", "不是会员号也不是手机号")
NOBODY = Reason("no active member with this number or phone", "没有此会员号或手机号的会员")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class SegmentView:
    """A segment as staff and the API see it (``definition`` as stored; empty for a static one)."""

    code: str
    name: str
    kind: str
    definition: dict[str, Any]
    description_zh: str
    description_en: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _view(row: dict[str, Any]) -> SegmentView:
    definition = json_column(row["definition"]) or {}
    group = parse_definition(definition) if row["kind"] == "rules" else None
    static = ("上传的会员名单", "members from an upload")
    return SegmentView(
        row["code"],
        row["name"],
        row["kind"],
        definition if group else {},
        rules.describe(group, "zh") if group else static[0],
        rules.describe(group, "en") if group else static[1],
        row["created_at"],
        row["updated_at"],
    )


async def segment_row(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """The segment's row; ``SegmentNotFound`` when the program has no such segment."""
    row = await fetch_one("SELECT * FROM segment WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise SegmentNotFound(code=code)
    return row


def _resolver(program_id: uuid.UUID):
    async def resolve(code: str) -> SegmentRef:
        row = await segment_row(program_id, code)
        definition = (
            parse_definition(json_column(row["definition"]) or {}) if row["kind"] == "rules" else rules.EVERYONE
        )
        return SegmentRef(uuid.UUID(str(row["id"])), row["kind"], definition)

    return resolve


async def members_where(program: ProgramConfig, group: Group, now: dt.datetime) -> tuple[str, list[Any]]:
    """(condition on ``member m``, arguments): the program's active members ``group`` selects as
    of ``now``."""
    sql = Sql()
    condition = await Compiler(program, now, _resolver(program.id)).where(group, sql)
    text = f"m.program_id = {sql.bind(program.id)} AND m.status = 'active' AND ({condition})"
    return sql.finish(text)


async def segment_where(program: ProgramConfig, code: str, now: dt.datetime) -> tuple[str, list[Any]]:
    """(condition on ``member m``, arguments): the members of segment ``code`` as of ``now``."""
    return await members_where(program, rules.Group("all", (rules.Condition("segment", "in", (code,), None),)), now)


async def count_definition(program: ProgramConfig, group: Group, now: dt.datetime | None = None) -> int:
    """How many active members ``group`` selects now: the live count while staff edit rules."""
    where, args = await members_where(program, group, now or _now())
    row = await fetch_one(f"SELECT COUNT(*) AS n FROM member m WHERE {where}", *args)
    return int(row["n"]) if row else 0


async def count_segment(program: ProgramConfig, code: str, now: dt.datetime | None = None) -> int:
    """How many active members segment ``code`` holds now."""
    where, args = await segment_where(program, code, now or _now())
    row = await fetch_one(f"SELECT COUNT(*) AS n FROM member m WHERE {where}", *args)
    return int(row["n"]) if row else 0


async def segment_members(
    program: ProgramConfig, code: str, page: int, page_size: int, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], int]:
    """One page of the segment's members (newest first) with their tier, stage and RFM scores,
    and how many it holds."""
    where, args = await segment_where(program, code, now or _now())
    return await fetch_page(
        "SELECT m.id, m.member_no, m.name, m.tier, m.created_at, sc.stage, sc.r, sc.f, sc.m,"
        " COUNT(*) OVER () AS listed FROM member m LEFT JOIN member_score sc ON sc.program_id = m.program_id AND"
        " sc.member_id = m.id"
        f" WHERE {where} ORDER BY m.created_at DESC, m.id DESC",
        *args,
        page=page,
        page_size=page_size,
    )


async def check_definition(program: ProgramConfig, group: Group, own_code: str | None = None) -> None:
    """Refuse a tree naming a tier, store or segment the program does not have, or a segment
    that leads back to ``own_code``; compiling it finds the cycles."""
    tiers = {tier.code for tier in tier_config(program.settings).tiers}
    stores = {uuid.UUID(str(store["id"])) for store in await list_stores(program.merchant_id)}
    for condition in group.walk():
        if condition.field == "tier":
            unknown = [code for code in condition.value if code not in tiers]
            if unknown:
                raise ValidationError(
                    field="definition",
                    reason=Reason(f"no tier {unknown[0]!r} in this program", f"本方案没有等级“{unknown[0]}”"),
                )
        if condition.field in ("enrolled_store", "bought_at_store"):
            unknown = [str(store) for store in condition.value if store not in stores]
            if unknown:
                raise ValidationError(
                    field="definition",
                    reason=Reason(f"no store {unknown[0]} of this merchant", f"本商户没有门店 {unknown[0]}"),
                )
        if condition.field == "segment" and own_code in condition.value:
            from membership.crm.errors import SegmentCycle

            raise SegmentCycle(code=own_code)
    compiler = Compiler(program, _now(), _resolver(program.id))
    if own_code:
        compiler.seen = (own_code,)
    await compiler.where(group, Sql())


def _parse_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(
            field="kind", reason=Reason("rules or static", "须为 rules（按规则）或 static（上传名单）")
        )
    return kind


@use_case
async def create_segment(
    program_id: uuid.UUID, code: str, name: str, kind: str, definition: Any, actor: str
) -> SegmentView:
    """Add a segment (``code`` new in the program); a rule segment's tree is checked. Audited."""
    program = await get_program(program_id)
    _parse_kind(kind)
    group = parse_definition(definition if kind == "rules" else {})
    if await fetch_one("SELECT 1 AS x FROM segment WHERE program_id = {} AND code = {}", program_id, code):
        raise SegmentExists(code=code)
    await check_definition(program, group, code)
    now = _now()
    stored = rules.to_json(group) if kind == "rules" else {}
    await fetch(
        "INSERT INTO segment (id, program_id, code, name, kind, definition, active, created_at, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        program_id,
        code,
        name,
        kind,
        json.dumps(stored, ensure_ascii=False),
        True,
        now,
        now,
    )
    await audit.record(actor, "segment.create", "segment", code, program_id, {"kind": kind, "definition": stored})
    return _view(await segment_row(program_id, code))


@use_case
async def change_segment(program_id: uuid.UUID, code: str, name: str, definition: Any, actor: str) -> SegmentView:
    """Rename a segment and, for a rule segment, replace its rules (checked). Audited."""
    program = await get_program(program_id)
    row = await segment_row(program_id, code)
    group = parse_definition(definition if row["kind"] == "rules" else {})
    await check_definition(program, group, code)
    stored = rules.to_json(group) if row["kind"] == "rules" else {}
    await fetch(
        "UPDATE segment SET name = {}, definition = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        name,
        json.dumps(stored, ensure_ascii=False),
        _now(),
        program_id,
        row["id"],
    )
    before = json_column(row["definition"]) or {}
    await audit.record(actor, "segment.change", "segment", code, program_id, {"before": before, "after": stored})
    return _view(await segment_row(program_id, code))


async def _users(program_id: uuid.UUID, row: dict[str, Any]) -> list[str]:
    """What refers to the segment: tag rules and other segments' rules."""
    users = [
        f"tag:{r['tag']}" for r in await fetch("SELECT tag FROM tag_rule WHERE segment_id = {} ORDER BY tag", row["id"])
    ]
    others = await fetch(
        "SELECT code, definition FROM segment WHERE program_id = {} AND kind = 'rules' AND id <> {} ORDER BY code",
        program_id,
        row["id"],
    )
    for other in others:
        group = parse_definition(json_column(other["definition"]) or {})
        if any(c.field == "segment" and row["code"] in c.value for c in group.walk()):
            users.append(f"segment:{other['code']}")
    return users


@use_case
async def delete_segment(program_id: uuid.UUID, code: str, actor: str) -> None:
    """Remove a segment nothing refers to (with its uploaded members). Audited."""
    row = await segment_row(program_id, code)
    users = await _users(program_id, row)
    if users:
        raise SegmentInUse(code=code, users=", ".join(users))
    await fetch("DELETE FROM segment_member WHERE segment_id = {}", row["id"])
    await fetch("DELETE FROM segment WHERE program_id = {} AND id = {}", program_id, row["id"])
    await audit.record(actor, "segment.delete", "segment", code, program_id)


async def get_segment(program_id: uuid.UUID, code: str) -> SegmentView:
    """One segment."""
    return _view(await segment_row(program_id, code))


async def list_segments(program_id: uuid.UUID, page: int, page_size: int) -> tuple[list[SegmentView], int]:
    """One page of the program's segments by code, and how many there are."""
    rows, total = await fetch_page(
        "SELECT *, COUNT(*) OVER () AS listed FROM segment WHERE program_id = {} ORDER BY code",
        program_id,
        page=page,
        page_size=page_size,
    )
    return [_view(row) for row in rows], total


@dataclasses.dataclass(frozen=True)
class Upload:
    """What an upload to a static segment did: members it holds now, members the upload added,
    and the lines that named nobody (with why)."""

    members: int
    added: int
    unknown: list[tuple[int, str, Reason]]


def _lines(lines: list[str]) -> list[tuple[int, str]]:
    kept = [(n, line.strip().strip(",;").strip()) for n, line in enumerate(lines, 1)]
    return [(n, line) for n, line in kept if line and line.lower() not in ("member_no", "phone", "会员号", "手机号")]


async def _members_of(program_id: uuid.UUID, lines: list[tuple[int, str]]) -> tuple[set[str], list]:
    """The member ids the lines name (a member number, or a phone number matched by its keyed
    hash), and the lines that name no active member of the program."""
    numbers: dict[str, int] = {}
    hashes: dict[str, int] = {}
    unknown: list[tuple[int, str, Reason]] = []
    for n, line in lines:
        if line.isdigit() and len(line) != 11:
            numbers[line] = n
            continue
        try:
            phone = pd.normalize_phone(line)
        except InvalidPhone:
            if line.isdigit():
                numbers[line] = n
            else:
                unknown.append(
                    (n, line, Reason("neither a member number nor a phone number", "不是会员号也不是手机号"))
                )
            continue
        numbers.setdefault(line, n)  # an 11-digit line may be a member number too
        for value in pd.lookup_hashes("phone", phone):
            hashes[value] = n
    found: set[str] = set()
    seen_lines: set[int] = set()
    for column, keys in (("member_no", numbers), ("phone_hash", hashes)):
        listed = list(keys)
        for start in range(0, len(listed), UPLOAD_CHUNK):
            part = listed[start : start + UPLOAD_CHUNK]
            chosen, argument = any_of(column, part)
            rows = await fetch(
                f"SELECT id, {column} AS k FROM member WHERE program_id = {{}} AND status = 'active' AND {chosen}",
                program_id,
                argument,
            )
            for row in rows:
                found.add(str(row["id"]))
                seen_lines.add(keys[row["k"]])
    for line, n in numbers.items():
        if n not in seen_lines and not any(u[0] == n for u in unknown):
            unknown.append(
                (n, line, Reason("no active member with this number or phone", "没有此会员号或手机号的会员"))
            )
    return found, sorted(unknown, key=lambda u: u[0])


@use_case
async def upload_members(program_id: uuid.UUID, code: str, lines: list[str], replace: bool, actor: str) -> Upload:
    """Put the members the ``lines`` name (one member number or phone number a line; a header
    line is skipped) in static segment ``code``: in place of its members (``replace``: those not
    named leave) or beside them. Lines naming nobody are reported, the rest kept. Audited."""
    row = await segment_row(program_id, code)
    if row["kind"] != "static":
        raise NotStaticSegment(code=code)
    named = _lines(lines)
    if len(named) > UPLOAD_LIMIT:
        raise ValidationError(
            field="lines", reason=Reason(f"at most {UPLOAD_LIMIT:,} lines", f"一次最多上传 {UPLOAD_LIMIT:,} 行")
        )
    found, unknown = await _members_of(program_id, named)
    listed = sorted(found)
    if replace:
        kept, argument = id_set([uuid.UUID(i) for i in listed])
        await fetch(
            f"DELETE FROM segment_member WHERE segment_id = {{}} AND member_id NOT IN (SELECT id FROM ({kept}) k)",
            row["id"],
            argument,
        )
    added = 0
    for start in range(0, len(listed), UPLOAD_CHUNK):
        part = listed[start : start + UPLOAD_CHUNK]
        ids, argument = id_set([uuid.UUID(i) for i in part])
        inserted = await fetch(
            f"INSERT INTO segment_member (segment_id, member_id) SELECT {{}}, x.id FROM ({ids}) x"
            " WHERE true ON CONFLICT DO NOTHING RETURNING member_id",
            row["id"],
            argument,
        )
        added += len(inserted)
    total = await fetch_one("SELECT COUNT(*) AS n FROM segment_member WHERE segment_id = {}", row["id"])
    await fetch("UPDATE segment SET updated_at = {} WHERE program_id = {} AND id = {}", _now(), program_id, row["id"])
    await audit.record(
        actor,
        "segment.upload",
        "segment",
        code,
        program_id,
        {"lines": len(named), "added": added, "unknown": len(unknown), "replace": replace},
    )
    return Upload(int(total["n"]) if total else 0, added, unknown)
