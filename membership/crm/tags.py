"""Member tags (会员标签): given and taken by hand (console, API), and by tag rules.

Tags live in the member's profile (``member.tags``, a JSON list). A tag rule gives its tag to the
members of a segment and takes it from those who left it: the rule owns its tag (a member who
carries it by hand but is not in the segment loses it at the next refresh). Rules are applied
after each refresh of scores (``refresh-member-scores``), so a rule on lifecycle stages or RFM
follows them; the members to change are found in one query per rule and direction, and changed
in chunks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.audit import service as audit
from membership.crm.errors import TagRuleExists, TagRuleNotFound
from membership.crm.segments import segment_row, segment_where
from membership.db import fetch, fetch_one, fetch_page, id_set, is_sqlite, job_chunk, new_id, use_case
from membership.db.sql import json_column
from membership.errors import Reason, ValidationError
from membership.members import service as members
from membership.org.service import ProgramConfig

MAX_TAG = 50
MAX_TAGS = 50
CHUNK = 5000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_tag(tag: str) -> str:
    """A tag as stored (trimmed); ``ValidationError`` when it is empty or too long."""
    cleaned = tag.strip() if isinstance(tag, str) else ""
    if not 1 <= len(cleaned) <= MAX_TAG:
        raise ValidationError(
            field="tag", reason=Reason(f"a tag is 1 to {MAX_TAG} characters", f"标签须为 1 到 {MAX_TAG} 个字符")
        )
    return cleaned


@use_case
async def change_member_tags(member_id: uuid.UUID, add: list[str], remove: list[str], actor: str) -> list[str]:
    """Give the member the tags ``add`` and take ``remove`` (the member's other tags stay);
    audited as a profile change. The member's tags after it."""
    row = await members.active_member(member_id, lock=True)
    current = json_column(row["tags"]) or []
    taken = {check_tag(tag) for tag in remove}
    tags = [tag for tag in current if tag not in taken]
    for tag in map(check_tag, add):
        if tag not in tags and tag not in taken:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(
            field="add", reason=Reason(f"a member carries at most {MAX_TAGS} tags", f"每位会员最多 {MAX_TAGS} 个标签")
        )
    if tags != current:
        await members.update_profile(member_id, {"tags": tags}, actor=actor)
    return tags


async def tags_in_use(program_id: uuid.UUID, limit: int = 200) -> list[tuple[str, int]]:
    """The tags the program's active members carry, most carried first, with how many carry each."""
    if is_sqlite():
        source = "FROM member m, json_each(m.tags) t"
    else:
        source = "FROM member m CROSS JOIN LATERAL json_array_elements_text(m.tags) AS t(value)"
    rows = await fetch(
        f"SELECT t.value AS tag, COUNT(*) AS n {source} WHERE m.program_id = {{}} AND m.status = 'active'"
        " GROUP BY t.value ORDER BY n DESC, t.value LIMIT {}",
        program_id,
        limit,
    )
    return [(row["tag"], int(row["n"])) for row in rows]


@dataclasses.dataclass(frozen=True)
class TagRuleView:
    """A tag rule: members of ``segment`` carry ``tag``."""

    tag: str
    segment: str
    created_at: dt.datetime


@use_case
async def add_tag_rule(program_id: uuid.UUID, tag: str, segment: str, actor: str) -> TagRuleView:
    """Members of ``segment`` carry ``tag`` from the next refresh on. Audited."""
    tag = check_tag(tag)
    row = await segment_row(program_id, segment)
    if await fetch_one("SELECT 1 AS x FROM tag_rule WHERE program_id = {} AND tag = {}", program_id, tag):
        raise TagRuleExists(tag=tag)
    now = _now()
    await fetch(
        "INSERT INTO tag_rule (id, program_id, tag, segment_id, created_at) VALUES ({}, {}, {}, {}, {})",
        new_id(),
        program_id,
        tag,
        row["id"],
        now,
    )
    await audit.record(actor, "tag_rule.add", "tag_rule", tag, program_id, {"segment": segment})
    return TagRuleView(tag, segment, now)


@use_case
async def remove_tag_rule(program_id: uuid.UUID, tag: str, actor: str) -> None:
    """Stop the rule (members keep the tag until it is taken by hand). Audited."""
    rows = await fetch("DELETE FROM tag_rule WHERE program_id = {} AND tag = {} RETURNING id", program_id, tag)
    if not rows:
        raise TagRuleNotFound(tag=tag)
    await audit.record(actor, "tag_rule.remove", "tag_rule", tag, program_id)


async def list_tag_rules(program_id: uuid.UUID, page: int = 1, page_size: int = 50) -> tuple[list[TagRuleView], int]:
    """One page of the program's tag rules by tag, and how many there are."""
    rows, total = await fetch_page(
        "SELECT r.tag, s.code, r.created_at, COUNT(*) OVER () AS listed FROM tag_rule r"
        " JOIN segment s ON s.program_id = r.program_id AND s.id = r.segment_id WHERE r.program_id = {} ORDER BY r.tag",
        program_id,
        page=page,
        page_size=page_size,
    )
    return [TagRuleView(row["tag"], row["code"], row["created_at"]) for row in rows], total


def _has(tag_arg: str) -> str:
    if is_sqlite():
        return f"EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = {tag_arg})"
    return f"jsonb_exists(CAST(m.tags AS jsonb), {tag_arg})"


@job_chunk
async def _retag(program_id: uuid.UUID, ids: list[str], tag: str, give: bool, now: dt.datetime) -> None:
    chosen, argument = id_set([uuid.UUID(i) for i in ids])
    if is_sqlite():
        changed = (
            "json_insert(COALESCE(tags, '[]'), '$[#]', {})"
            if give
            else "(SELECT json_group_array(t.value) FROM json_each(member.tags) t WHERE t.value <> {})"
        )
    else:
        changed = (
            "CAST(CAST(tags AS jsonb) || to_jsonb(CAST({} AS text)) AS json)"
            if give
            else "CAST(CAST(tags AS jsonb) - CAST({} AS text) AS json)"
        )
    await fetch(
        f"UPDATE member SET tags = {changed}, updated_at = {{}} WHERE program_id = {{}} AND id IN ({chosen})",
        *(tag, now, program_id, argument),
    )


async def apply_tag_rules(program: ProgramConfig, now: dt.datetime) -> tuple[int, int]:
    """Give each rule's tag to its segment's members who lack it, take it from carriers outside
    the segment: (tags given, tags taken)."""
    given = taken = 0
    rules = await fetch(
        "SELECT r.tag, s.code FROM tag_rule r JOIN segment s ON s.program_id = r.program_id AND s.id = r.segment_id"
        " WHERE r.program_id = {}"
        " ORDER BY r.tag",
        program.id,
    )
    for rule in rules:
        where, args = await segment_where(program, rule["code"], now)
        has = _has("{}")
        lacking = await fetch(f"SELECT m.id FROM member m WHERE {where} AND NOT {has}", *args, rule["tag"])
        leaving = await fetch(
            f"SELECT m.id FROM member m WHERE m.program_id = {{}} AND {has} AND NOT ({where})",
            program.id,
            rule["tag"],
            *args,
        )
        for ids, give in (([str(r["id"]) for r in lacking], True), ([str(r["id"]) for r in leaving], False)):
            for start in range(0, len(ids), CHUNK):
                await _retag(program.id, ids[start : start + CHUNK], rule["tag"], give, now)
        given, taken = given + len(lacking), taken + len(leaving)
    return given, taken
