"""Dining rules (餐饮积分规则): points by meal period, service mode, party size and per-head spend,
e.g. 晚餐堂食积分翻倍, 人均满 150 元加送 50 积分, 4 人以上聚餐加送 100 积分.

A rule applies to a purchase when every condition it sets holds: its meal periods (none: any), its
service modes (none: any), at least ``min_party_size`` diners and at least ``min_per_head`` fen per
head (both need the party size the till sent). Of the rules that apply, **every** bonus counts and
the **highest** multiplier counts; a multiplier of 200% adds the purchase's base points once more
(the points of the program's ``base_rate`` rules, or the default 1 point per yuan), as the kernel's
own multipliers do. Rules live in the pack's table and are edited on the console page 餐饮积分规则
or through ``PUT /api/v1/catering/programs/{id}/dining-rules/{code}``.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.plugin import Award, EarnContext, Reason, ValidationError, fetch, fetch_one, new_id, use_case
from membership_catering.dining import MAX_PARTY, Dining, dining_of, name_of
from membership_catering.errors import DiningRuleNotFound
from membership_catering.settings import NAME, CateringSettings
from membership_catering.values import MAX_FEN, as_list, check_code, now, to_json

MealPeriod = Literal["breakfast", "lunch", "afternoon_tea", "dinner", "late_night"]
ServiceMode = Literal["dine_in", "takeaway", "delivery"]


class RuleTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a dining rule says. Amounts in fen; ``multiplier_pct`` 100 is no multiplier."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    meal_periods: Annotated[list[MealPeriod], msgspec.Meta(max_length=5)] = []
    service_modes: Annotated[list[ServiceMode], msgspec.Meta(max_length=3)] = []
    min_party_size: Annotated[int, msgspec.Meta(ge=0, le=MAX_PARTY)] = 0
    min_per_head: Annotated[int, msgspec.Meta(ge=0, le=MAX_FEN)] = 0
    multiplier_pct: Annotated[int, msgspec.Meta(ge=100, le=1000)] = 100
    bonus_points: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    active: bool = True


@dataclasses.dataclass(frozen=True)
class _Multiplier(Award):
    """The highest multiplier that applies, before its points are known: the pack's wrapper of
    the points hook turns it into an award of ``pct - 100`` % of the base points."""

    pct: int = 100


def check_terms(data: dict[str, Any]) -> RuleTerms:
    """``data`` as checked terms; ``ValidationError`` names the field at fault."""
    try:
        terms = msgspec.convert(data, RuleTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "rule", reason=reason) from None
    if terms.multiplier_pct == 100 and terms.bonus_points == 0:
        raise ValidationError(
            field="multiplier_pct",
            reason=Reason("give a multiplier above 100% or bonus points", "请设置高于 100% 的积分倍数或加送积分"),
        )
    return msgspec.structs.replace(
        terms,
        meal_periods=list(dict.fromkeys(terms.meal_periods)),
        service_modes=list(dict.fromkeys(terms.service_modes)),
    )


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "meal_periods": as_list(row["meal_periods"]),
        "service_modes": as_list(row["service_modes"]),
        "min_party_size": int(row["min_party_size"]),
        "min_per_head": int(row["min_per_head"]),
        "multiplier_pct": int(row["multiplier_pct"]),
        "bonus_points": int(row["bonus_points"]),
        "active": bool(row["active"]),
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
    }


async def list_rules(program_id: uuid.UUID, active_only: bool = False) -> list[dict[str, Any]]:
    """The program's dining rules by code (only the active ones when asked)."""
    only = " AND active = {}" if active_only else ""
    args: list[Any] = [program_id, True] if active_only else [program_id]
    rows = await fetch(f"SELECT * FROM catering_dining_rule WHERE program_id = {{}}{only} ORDER BY code", *args)
    return [_out(row) for row in rows]


async def get_rule(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One rule; ``DiningRuleNotFound`` when the program has none of that code."""
    row = await fetch_one("SELECT * FROM catering_dining_rule WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise DiningRuleNotFound(code=code)
    return _out(row)


@use_case
async def save_rule(program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Add the rule ``code`` or replace its terms (``active: false`` retires it); returns it."""
    check_code(code)
    terms = check_terms(data)
    at = now()
    await fetch(
        "INSERT INTO catering_dining_rule (id, program_id, code, name, meal_periods, service_modes, min_party_size,"
        " min_per_head, multiplier_pct, bonus_points, active, updated_by, created_at, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (program_id, code) DO UPDATE SET name = excluded.name, meal_periods = excluded.meal_periods,"
        " service_modes = excluded.service_modes, min_party_size = excluded.min_party_size,"
        " min_per_head = excluded.min_per_head, multiplier_pct = excluded.multiplier_pct,"
        " bonus_points = excluded.bonus_points, active = excluded.active, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        new_id(),
        program_id,
        code,
        terms.name,
        to_json(terms.meal_periods),
        to_json(terms.service_modes),
        terms.min_party_size,
        terms.min_per_head,
        terms.multiplier_pct,
        terms.bonus_points,
        terms.active,
        actor[:100],
        at,
        at,
    )
    return await get_rule(program_id, code)


def applies(rule: dict[str, Any], dining: Dining) -> bool:
    """Whether every condition of ``rule`` holds for the meal."""
    if rule["meal_periods"] and dining.meal_period not in rule["meal_periods"]:
        return False
    if rule["service_modes"] and dining.service_mode not in rule["service_modes"]:
        return False
    if rule["min_party_size"] and (dining.party_size or 0) < rule["min_party_size"]:
        return False
    return not rule["min_per_head"] or (dining.per_head is not None and dining.per_head >= rule["min_per_head"])


def _why(rule: dict[str, Any], dining: Dining) -> str:
    said = [name_of(dining.meal_period, "zh_CN"), name_of(dining.service_mode, "zh_CN")]
    if dining.party_size:
        said.append(f"{dining.party_size} 人")
    if dining.per_head is not None and rule["min_per_head"]:
        said.append(f"人均 {dining.per_head / 100:g} 元")
    return f"{rule['name']}（{'、'.join(said)}）"


async def awards(context: EarnContext, settings: CateringSettings) -> list[Award]:
    """The bonus awards of the rules that apply to the purchase, and the highest multiplier as a
    :class:`_Multiplier` the wrapper prices (a simulation gets the same answer)."""
    rules = await list_rules(context.program.id, active_only=True)
    if not rules:
        return []
    dining = dining_of(context.program, settings, context.attributes, context.occurred_at, context.total)
    found = [rule for rule in rules if applies(rule, dining)]
    given: list[Award] = [
        Award(f"{NAME}:{rule['code']}", rule["bonus_points"], f"{_why(rule, dining)}：加送 {rule['bonus_points']} 积分")
        for rule in found
        if rule["bonus_points"]
    ]
    multipliers = [rule for rule in found if rule["multiplier_pct"] > 100]
    if multipliers:
        best = max(multipliers, key=lambda rule: (rule["multiplier_pct"], rule["code"]))
        why = f"{_why(best, dining)}：基础积分 ×{best['multiplier_pct'] / 100:g}"
        given.append(_Multiplier(f"{NAME}:{best['code']}", 0, why, pct=best["multiplier_pct"]))
    return given


def priced(context: EarnContext, results: list[list[Award]]) -> list[list[Award]]:
    """Every hook's awards with the pack's multiplier priced: ``pct - 100`` % of the base points
    (the awards of the program's ``base_rate`` rules; without rules the default rule ``base``)."""
    base_rules = {rule.code for rule in context.rules if rule.kind == "base_rate"} or {"base"}
    base = sum(award.points for awards in results for award in awards if award.rule in base_rules)
    out: list[list[Award]] = []
    for awards in results:
        kept: list[Award] = []
        for award in awards:
            if isinstance(award, _Multiplier):
                award = Award(award.rule, base * (award.pct - 100) // 100, award.reason)
            kept.append(award)
        out.append(kept)
    return out
