"""Pass plans (年卡/季卡方案) and blackout dates (不可用日期).

A pass plan is one of the program's paid plans (付费会员套餐: its fee, the tier it gives and how
many days it runs are the kernel's) set up as a pass: ``annual`` or ``seasonal``, how many family
members the holder may add (``max_family``, 副卡), how many entries a person has a day
(``daily_entries``, 0: no limit) and the least time between two entries of one person
(``reentry_minutes``, 0: none; it keeps one card from letting several people in, one after the
other).

A blackout date closes the gates to passes of every plan (or of the plans it names) for a local
day, e.g. 国庆节 or 春节: tickets are sold then, passes wait.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.plugin import (
    PaidPlan,
    ProgramConfig,
    Reason,
    ValidationError,
    execute,
    fetch,
    fetch_one,
    get_program,
    new_id,
    paid_plans,
    use_case,
)
from membership_tourism.errors import PaidPlanMissing, PassPlanNotFound
from membership_tourism.values import as_list, check_code, now, to_json

PassKind = Literal["annual", "seasonal"]
KIND_NAMES = {"annual": ("年卡", "annual pass"), "seasonal": ("季卡", "seasonal pass")}


class PassPlanTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What makes a paid plan a pass."""

    kind: PassKind = "annual"
    max_family: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    daily_entries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 0
    reentry_minutes: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 0
    active: bool = True


@dataclasses.dataclass(frozen=True)
class PassPlan:
    """A pass plan with the kernel's paid plan it is sold as (``paid`` None: the program no longer
    sells that plan, and its passes are no longer sold)."""

    code: str
    kind: str
    max_family: int
    daily_entries: int
    reentry_minutes: int
    active: bool
    paid: PaidPlan | None
    updated_by: str
    updated_at: dt.datetime

    @property
    def name(self) -> str:
        """What staff and members call it: the paid plan's name."""
        return self.paid.name if self.paid else self.code

    @property
    def on_sale(self) -> bool:
        """Whether the pass can be sold now."""
        return self.active and self.paid is not None


def _terms(data: dict[str, Any]) -> PassPlanTerms:
    try:
        return msgspec.convert(data, PassPlanTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "pass plan", reason=reason) from None


def _plan(row: dict[str, Any], program: ProgramConfig) -> PassPlan:
    paid = next((plan for plan in paid_plans(program.settings) if plan.code == row["plan_code"]), None)
    return PassPlan(
        row["plan_code"],
        row["kind"],
        int(row["max_family"]),
        int(row["daily_entries"]),
        int(row["reentry_minutes"]),
        bool(row["active"]),
        paid,
        row["updated_by"],
        row["updated_at"],
    )


async def list_plans(program: ProgramConfig, active_only: bool = False) -> list[PassPlan]:
    """The program's pass plans by code (only the active ones when asked)."""
    rows = await fetch("SELECT * FROM tourism_pass_plan WHERE program_id = {} ORDER BY plan_code", program.id)
    plans = [_plan(row, program) for row in rows]
    return [plan for plan in plans if plan.active] if active_only else plans


async def find_plan(program: ProgramConfig, code: str) -> PassPlan | None:
    """The pass plan of the paid plan ``code``, or None."""
    row = await fetch_one("SELECT * FROM tourism_pass_plan WHERE program_id = {} AND plan_code = {}", program.id, code)
    return _plan(row, program) if row else None


async def get_plan(program: ProgramConfig, code: str) -> PassPlan:
    """The pass plan ``code``; ``PassPlanNotFound`` when the program has none."""
    plan = await find_plan(program, code)
    if plan is None:
        raise PassPlanNotFound(code=code)
    return plan


@use_case
async def save_plan(program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str) -> PassPlan:
    """Set up the paid plan ``code`` as a pass, or change its terms (``active: false`` stops
    selling it; passes sold keep opening the gates until they end)."""
    check_code(code)
    terms = _terms(data)
    program = await get_program(program_id)
    if all(plan.code != code for plan in paid_plans(program.settings)):
        raise PaidPlanMissing(code=code)
    at = now()
    await execute(
        "INSERT INTO tourism_pass_plan (id, program_id, plan_code, kind, max_family, daily_entries, reentry_minutes,"
        " active, updated_by, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (program_id, plan_code) DO UPDATE SET kind = excluded.kind, max_family = excluded.max_family,"
        " daily_entries = excluded.daily_entries, reentry_minutes = excluded.reentry_minutes,"
        " active = excluded.active, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        new_id(),
        program.id,
        code,
        terms.kind,
        terms.max_family,
        terms.daily_entries,
        terms.reentry_minutes,
        terms.active,
        actor[:100],
        at,
        at,
    )
    return await get_plan(program, code)


# -- blackout dates ---------------------------------------------------------------------------------


class BlackoutTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A blackout date's name and the pass plans it closes (none: every one)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    plans: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=32)]], msgspec.Meta(max_length=50)] = []


def _blackout(row: dict[str, Any]) -> dict[str, Any]:
    return {"day": dt.date.fromisoformat(row["day"]), "name": row["name"], "plans": as_list(row["plans"])}


async def list_blackouts(program_id: uuid.UUID, since: dt.date | None = None) -> list[dict[str, Any]]:
    """The program's blackout dates in date order (from ``since`` on, when given)."""
    rows = await fetch(
        "SELECT * FROM tourism_blackout WHERE program_id = {} AND day >= {} ORDER BY day",
        program_id,
        (since or dt.date(2000, 1, 1)).isoformat(),
    )
    return [_blackout(row) for row in rows]


@use_case
async def save_blackout(program_id: uuid.UUID, day: dt.date, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Close the gates to passes on ``day`` (or rename it, change its plans); returns it."""
    try:
        terms = msgspec.convert(data, BlackoutTerms)
    except msgspec.ValidationError as exc:
        raise ValidationError(field="blackout", reason=str(exc)) from None
    program = await get_program(program_id)
    known = {row.code for row in await list_plans(program)}
    unknown = [code for code in terms.plans if code not in known]
    if unknown:
        raise ValidationError(
            field="plans",
            reason=Reason(f"no pass plan {', '.join(unknown)}", f"没有年卡/季卡方案 {'、'.join(unknown)}"),
        )
    await execute(
        "INSERT INTO tourism_blackout (id, program_id, day, name, plans, updated_by, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (program_id, day) DO UPDATE SET name = excluded.name,"
        " plans = excluded.plans, updated_by = excluded.updated_by",
        new_id(),
        program_id,
        day.isoformat(),
        terms.name.strip(),
        to_json(list(dict.fromkeys(terms.plans))),
        actor[:100],
        now(),
    )
    row = await fetch_one(
        "SELECT * FROM tourism_blackout WHERE program_id = {} AND day = {}", program_id, day.isoformat()
    )
    return _blackout(row)


@use_case
async def delete_blackout(program_id: uuid.UUID, day: dt.date) -> bool:
    """Open the gates to passes again on ``day``; False when it was no blackout date."""
    rows = await fetch(
        "DELETE FROM tourism_blackout WHERE program_id = {} AND day = {} RETURNING id", program_id, day.isoformat()
    )
    return bool(rows)


async def blackout_on(program_id: uuid.UUID, plan_code: str, day: dt.date) -> str | None:
    """The name of the blackout date ``day`` when it closes the gates to passes of ``plan_code``."""
    row = await fetch_one(
        "SELECT name, plans FROM tourism_blackout WHERE program_id = {} AND day = {}", program_id, day.isoformat()
    )
    if row is None:
        return None
    plans = as_list(row["plans"])
    return row["name"] if not plans or plan_code in plans else None
