"""Points by brand, category and SKU (品牌/品类/商品加送积分), with exclusions.

A rule names the lines it rewards — brands, categories and SKUs (a line matches when it is in
any of the lists; empty lists match every line) — and those it never rewards (excluded brands,
categories, SKUs win over the lists), and gives ``points_per_yuan`` extra points per currency unit
of the matching lines' share of what earns (after coupons and points paid, as the kernel's base
rule counts it), between optional dates. A line's brand and category come from the catalogue
when the till sent only its SKU. The kernel's own rules (base points, member days, caps) still
apply: these awards are added to theirs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from membership.plugin import (
    Award,
    EarnContext,
    LineInput,
    Reason,
    ValidationError,
    execute,
    fetch,
    fetch_one,
    new_id,
    use_case,
)
from membership_retail.catalogue import filled
from membership_retail.errors import RuleNotFound

LISTS = ("brands", "categories", "skus", "exclude_brands", "exclude_categories", "exclude_skus")


@dataclasses.dataclass(frozen=True)
class PointsRule:
    """A points rule of the pack (see the module)."""

    id: uuid.UUID
    name: str
    points_per_yuan: int
    brands: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    exclude_brands: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    exclude_skus: tuple[str, ...] = ()
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    active: bool = True

    def matches(self, line: LineInput) -> bool:
        """Whether ``line`` earns this rule's points."""
        if line.sku in self.exclude_skus or line.brand in self.exclude_brands:
            return False
        if line.category and line.category in self.exclude_categories:
            return False
        if not (self.brands or self.categories or self.skus):
            return True
        return line.brand in self.brands or line.category in self.categories or line.sku in self.skus

    def applies_on(self, day: dt.date) -> bool:
        """Whether the rule is active on ``day`` (its dates inclusive)."""
        return (
            self.active
            and (self.starts_on is None or self.starts_on <= day)
            and (self.ends_on is None or day <= self.ends_on)
        )


def _names(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for chunk in value.splitlines() for part in chunk.replace("，", ",").split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(field=field, reason=Reason("a list of names", "应为名称列表"))
    names = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(names) > 500 or any(len(n) > 64 for n in names):
        raise ValidationError(
            field=field, reason=Reason("at most 500 names of 64 characters", "最多 500 个，每个最多 64 个字符")
        )
    return names


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(field=field, reason=Reason("a date like 2026-12-31", "日期格式应为 2026-12-31")) from None


def checked_rule(data: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields as stored (lists as tuples, dates), or ``ValidationError`` naming the field."""
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError(field="name", reason=Reason("1 to 100 characters", "须为 1 到 100 个字符"))
    points = data.get("points_per_yuan")
    if isinstance(points, str) and points.strip().isdigit():
        points = int(points)
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 100:
        raise ValidationError(field="points_per_yuan", reason=Reason("a whole number 1 to 100", "须为 1 到 100 的整数"))
    rule = {"name": name, "points_per_yuan": points, **{field: _names(data.get(field, []), field) for field in LISTS}}
    rule["starts_on"], rule["ends_on"] = (
        _date(data.get("starts_on"), "starts_on"),
        _date(data.get("ends_on"), "ends_on"),
    )
    if rule["starts_on"] and rule["ends_on"] and rule["ends_on"] < rule["starts_on"]:
        raise ValidationError(field="ends_on", reason=Reason("before the start date", "早于开始日期"))
    rule["active"] = bool(data.get("active", True))
    return rule


@use_case
async def create_rule(program_id: uuid.UUID, data: dict[str, Any]) -> PointsRule:
    """Add a points rule to the program (``data`` as :func:`checked_rule` takes it)."""
    rule = checked_rule(data)
    rule_id = new_id()
    await execute(
        "INSERT INTO retail_points_rule (id, program_id, name, brands, categories, skus, exclude_brands,"
        " exclude_categories, exclude_skus, points_per_yuan, starts_on, ends_on, active, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        rule_id,
        program_id,
        rule["name"],
        *(json.dumps(list(rule[field]), ensure_ascii=False) for field in LISTS),
        rule["points_per_yuan"],
        rule["starts_on"],
        rule["ends_on"],
        rule["active"],
        dt.datetime.now(dt.UTC),
    )
    return PointsRule(rule_id, **rule)


@use_case
async def set_rule_active(program_id: uuid.UUID, rule_id: uuid.UUID, active: bool) -> None:
    """Switch a rule on or off."""
    await _own(program_id, rule_id)
    await execute(
        "UPDATE retail_points_rule SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        active,
        dt.datetime.now(dt.UTC),
        program_id,
        rule_id,
    )


@use_case
async def remove_rule(program_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    """Remove a rule (points it granted stay granted)."""
    await _own(program_id, rule_id)
    await execute("DELETE FROM retail_points_rule WHERE program_id = {} AND id = {}", program_id, rule_id)


async def _own(program_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    if await fetch_one("SELECT id FROM retail_points_rule WHERE id = {} AND program_id = {}", rule_id, program_id):
        return
    raise RuleNotFound(rule_id=rule_id)


def _rule(row: dict[str, Any]) -> PointsRule:
    lists = {field: tuple(json.loads(row[field] or "[]")) for field in LISTS}
    return PointsRule(
        row["id"],
        row["name"],
        int(row["points_per_yuan"]),
        **lists,
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        active=bool(row["active"]),
    )


async def points_rules(program_id: uuid.UUID, active_only: bool = False) -> list[PointsRule]:
    """The program's points rules, by name."""
    rows = await fetch(
        "SELECT * FROM retail_points_rule WHERE program_id = {}"
        + (" AND active = {}" if active_only else "")
        + " ORDER BY name",
        program_id,
        *((True,) if active_only else ()),
    )
    return [_rule(row) for row in rows]


def _share(context: EarnContext, lines: list[LineInput], rule: PointsRule) -> int:
    """The matching lines' share of what earns, pro rata to what each line costs the member."""
    total = sum(line.amount for line in lines)
    matched = sum(line.amount for line in lines if rule.matches(line))
    return min(context.earning_base * matched // total, context.earning_base) if total > 0 else 0


async def awards(context: EarnContext) -> list[Award] | None:
    """The extra points the program's active rules grant a purchase (``membership_points_awards``)."""
    day = context.occurred_at.astimezone(context.program.zone).date()
    rules = [r for r in await points_rules(context.program.id, active_only=True) if r.applies_on(day)]
    if not rules:
        return None
    lines = await filled(context.program, context.lines)
    found = []
    for rule in rules:
        share = _share(context, lines, rule)
        points = share * rule.points_per_yuan // context.program.minor_per_unit
        if points > 0:
            amount = context.program.money(share)
            found.append(
                Award(
                    f"retail:{rule.name}"[:64],
                    points,
                    f"【{rule.name}】指定商品 {amount}，每元加送 {rule.points_per_yuan} 积分：{points} 积分"
                    f" / matching lines {amount}, {rule.points_per_yuan} extra per unit: {points}",
                )
            )
    return found or None
