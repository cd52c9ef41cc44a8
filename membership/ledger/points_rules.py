"""A program's points rules (积分规则): stored as data, validated by the rulebook, audited.

Rules are read on every purchase, so each program's active rules are kept in memory for
:data:`RULES_CACHE_SECONDS`; a change here clears them at once in this process (other processes
see it within that time).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import msgspec
from cachetools import TTLCache

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, placeholders, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import Reason, RuleNotFound, ValidationError
from membership.ledger.rulebook import RULE_CODE, MemberFacts, PointsRule, parse_rule
from membership.org.service import ProgramConfig, get_program
from membership.tiers.policy import TierBenefits

RULES_CACHE_SECONDS = 5.0
_active = database_cache(TTLCache(maxsize=1024, ttl=RULES_CACHE_SECONDS))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_data(rule: PointsRule) -> dict[str, Any]:
    """The rule as JSON-ready data (what the API returns and the table stores)."""
    return msgspec.to_builtins(rule)


def _definition(row: dict[str, Any]) -> PointsRule:
    return parse_rule(json_column(row["definition"]))


@use_case
async def create_rule(program_id: uuid.UUID, data: dict[str, Any], actor: str = "system") -> PointsRule:
    """Add a rule to the program; its ``code`` must be new in the program."""
    await get_program(program_id)
    rule = parse_rule(data)
    if not re.fullmatch(RULE_CODE, rule.code):
        raise ValidationError(
            field="code", reason=Reason("letters, digits, '_', '.' and '-' only", "只能包含字母、数字、“_”、“.” 和 “-”")
        )
    if await fetch_one("SELECT id FROM points_rule WHERE program_id = {} AND code = {}", program_id, rule.code):
        raise ValidationError(
            field="code",
            reason=Reason(
                f"rule {rule.code!r} already exists; change it instead",
                f"积分规则 {rule.code!r} 已存在，请改为修改该规则",
            ),
        )
    now = _now()
    await fetch(
        "INSERT INTO points_rule (id, program_id, code, definition, active, created_at, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {})",
        new_id(),
        program_id,
        rule.code,
        json.dumps(as_data(rule), ensure_ascii=False),
        True,
        now,
        now,
    )
    await audit.record(actor, "points_rule.create", "points_rule", rule.code, program_id, as_data(rule))
    _active.pop(program_id, None)
    return rule


@use_case
async def change_rule(program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str = "system") -> PointsRule:
    """Replace a rule's definition (its code stays); a retired rule becomes active again. A
    definition without ``conditions`` or ``stop`` keeps the rule's (a form that does not show
    them changes the rest); the API always sends both."""
    row = await _row(program_id, code)
    kept = {key: value for key, value in json_column(row["definition"]).items() if key in ("conditions", "stop")}
    rule = parse_rule({**kept, **data, "code": code})
    await fetch(
        "UPDATE points_rule SET definition = {}, active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        json.dumps(as_data(rule), ensure_ascii=False),
        True,
        _now(),
        program_id,
        row["id"],
    )
    details = {"before": json_column(row["definition"]), "after": as_data(rule)}
    await audit.record(actor, "points_rule.change", "points_rule", code, program_id, details)
    _active.pop(program_id, None)
    return rule


@use_case
async def retire_rule(program_id: uuid.UUID, code: str, actor: str = "system") -> None:
    """Stop a rule from earning (it stays, so the ledger's entries keep their explanation)."""
    row = await _row(program_id, code)
    await fetch(
        "UPDATE points_rule SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        False,
        _now(),
        program_id,
        row["id"],
    )
    await audit.record(actor, "points_rule.retire", "points_rule", code, program_id)
    _active.pop(program_id, None)


async def _row(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    row = await fetch_one("SELECT * FROM points_rule WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise RuleNotFound(code=code)
    return row


async def list_rules(program_id: uuid.UUID, include_retired: bool = False) -> list[dict[str, Any]]:
    """The program's rules by priority (higher first) then code, each with ``active``."""
    only = "" if include_retired else " AND active = {}"
    rows = await fetch(
        "SELECT code, definition, active, updated_at FROM points_rule WHERE program_id = {}" + only,
        program_id,
        *([] if include_retired else [True]),
    )
    rules = [
        {**as_data(_definition(row)), "active": bool(row["active"]), "updated_at": row["updated_at"]} for row in rows
    ]
    return sorted(rules, key=lambda rule: (-rule["priority"], rule["code"]))


async def get_rule(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One rule, retired or not."""
    row = await _row(program_id, code)
    return {**as_data(_definition(row)), "active": bool(row["active"]), "updated_at": row["updated_at"]}


async def active_rules(program_id: uuid.UUID) -> list[PointsRule]:
    """The program's active rules (kept for :data:`RULES_CACHE_SECONDS`); empty when it has none,
    and the built-in default (1 point per currency unit) applies."""
    rules = _active.get(program_id)
    if rules is None:
        rows = await fetch("SELECT definition FROM points_rule WHERE program_id = {} AND active = {}", program_id, True)
        rules = _active[program_id] = [_definition(row) for row in rows]
    return rules


NO_SALE = uuid.UUID(int=0)


async def member_facts(
    program: ProgramConfig,
    member_id: uuid.UUID,
    occurred_at: dt.datetime,
    written_at: dt.datetime,
    sale_id: uuid.UUID | None,
    rules: list[PointsRule],
    benefits: TierBenefits | None,
) -> MemberFacts:
    """What the rulebook needs to know about the member, in one statement: birthday, purchases
    before this one, points kept (net of refunds) from the purchases recorded on the day these
    points are ``written_at`` — so a back-dated sale counts against today's cap, not against a
    day long gone — and whether a birthday rule already gave the gift of the sale's year (all
    days and years local to the program)."""
    written = written_at.astimezone(program.zone)
    midnight = written.replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = midnight.astimezone(dt.UTC)
    day_end = dt.datetime.combine(midnight.date() + dt.timedelta(days=1), dt.time(), program.zone).astimezone(dt.UTC)
    local = occurred_at.astimezone(program.zone)
    year_start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    birthday_codes = [rule.code for rule in rules if rule.kind == "birthday" and rule.params.get("gift_points")]
    gift_given, gift_args = "0", []
    if birthday_codes:
        marks = placeholders(birthday_codes)
        gift_given = (
            "(SELECT COUNT(*) FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id ="
            " e.account_id"
            " WHERE e.program_id = {} AND a.program_id = {} AND a.member_id = m.id AND a.kind = 'points'"
            f" AND e.rule IN ({marks}) AND e.created_at >= {{}})"
        )
        gift_args = [program.id, program.id, *birthday_codes, year_start]
    row = await fetch_one(  # every table filtered by the program: one node answers on Citus
        "SELECT m.birthday, m.birthday_calendar,"
        " (SELECT COUNT(*) FROM sale s WHERE s.program_id = {} AND s.member_id = m.id AND s.id <> {}"
        " AND s.status <> 'refunded') AS purchases_before,"
        " (SELECT COALESCE(SUM(s.points_earned - COALESCE((SELECT SUM(r.points_reversed) FROM sale_refund r"
        " WHERE r.program_id = {} AND r.sale_id = s.id), 0)), 0) FROM sale s WHERE s.program_id = {}"
        " AND s.member_id = m.id AND s.created_at >= {} AND s.created_at < {}) AS earned_today,"
        f" {gift_given} AS gifts FROM member m WHERE m.program_id = {{}} AND m.id = {{}}",
        program.id,
        sale_id or NO_SALE,
        program.id,
        program.id,
        day_start,
        day_end,
        *gift_args,
        program.id,
        member_id,
    )
    birthday = row["birthday"]
    if isinstance(birthday, str):
        birthday = dt.date.fromisoformat(birthday)
    return MemberFacts(
        birthday=birthday,
        birthday_calendar=row["birthday_calendar"] or "solar",
        purchases_before=int(row["purchases_before"]),
        points_earned_today=int(row["earned_today"]),
        birthday_gift_given_this_year=int(row["gifts"]) > 0,
        tier_name=benefits.name if benefits else "",
        tier_multiplier_pct=benefits.points_multiplier_pct if benefits else 100,
    )
