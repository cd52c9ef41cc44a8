"""REST routes of the catering pack, mounted by the kernel under ``/api/v1/catering`` behind the
API-key guard. Each route checks that its key may see the program or member it names, and answers
409 ``catering_off`` where the pack is not switched on for the program.

* ``GET/PUT /catering/programs/{id}/stamp-schemes[/{code}]`` — stamp cards (集点卡) (read / admin);
* ``GET/PUT /catering/programs/{id}/dining-rules[/{code}]`` — dining points rules (read / admin);
* ``GET /catering/programs/{id}/reports/{name}`` — ``catering_visits``, ``catering_per_head``,
  ``catering_dishes`` (read);
* ``GET /catering/members/{id}/stamp-cards`` — a member's cards and latest stamps (read);
* ``GET /catering/members/{id}/visits`` — a member's latest meals (read);
* ``GET/PUT /catering/members/{id}/preferences`` — tastes and allergies (read / pos: the till
  or the waiter's app notes them).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, put
from litestar.params import FromPath, FromQuery, JSONBody

from membership.plugin import ProgramConfig, Scope, current_key, get_program, member_for, plugin_enabled, program_for
from membership_catering import dining_rules, preferences, reports, stamps, visits
from membership_catering.errors import CateringOff
from membership_catering.settings import NAME

TAGS = ["catering"]


class SchemeOut(msgspec.Struct):
    """A stamp card (集点卡): what earns (``skus``, ``categories``, ``labels`` of a sale's lines),
    ``stamps_per_item``, ``stamps_needed`` for a reward issued from coupon template
    ``reward_template``, ``valid_days`` a card lasts from its first stamp (null: no end),
    ``starts_at`` (earlier sales earn nothing), ``active``."""

    code: str
    name: str
    skus: list[str]
    categories: list[str]
    labels: list[str]
    stamps_per_item: int
    stamps_needed: int
    reward_template: str
    valid_days: int | None
    starts_at: dt.datetime
    active: bool
    updated_by: str
    updated_at: dt.datetime


class CardOut(msgspec.Struct):
    """A member's current card of a stamp card: ``stamps`` of ``stamps_needed`` (below 0: stamps a
    refund took back after the reward), ``card_no`` (the member's how-many-th card), ``expires_at``,
    ``rewards`` issued so far, ``reward_waiting`` (full, its coupon not issued yet)."""

    scheme: str
    name: str
    card_no: int
    stamps: int
    stamps_needed: int
    expires_at: dt.datetime | None
    rewards: int
    reward_waiting: bool
    reward_template: str
    active: bool


class StampOut(msgspec.Struct):
    """One change to a card: ``earn``, ``refund``, ``expire`` or ``reward`` (with its coupon)."""

    name: str
    kind: str
    stamps: int
    quantity: int
    card_no: int
    coupon_code: str | None
    sale_id: uuid.UUID | None
    occurred_at: dt.datetime


class MemberCardsOut(msgspec.Struct):
    """A member's stamp cards and their latest changes, newest first."""

    member_id: uuid.UUID
    cards: list[CardOut]
    latest: list[StampOut]


class RuleOut(msgspec.Struct):
    """A dining rule: conditions (``meal_periods``, ``service_modes``: empty is any;
    ``min_party_size``; ``min_per_head`` in fen) and effects (``multiplier_pct`` of the base points,
    ``bonus_points``)."""

    code: str
    name: str
    meal_periods: list[str]
    service_modes: list[str]
    min_party_size: int
    min_per_head: int
    multiplier_pct: int
    bonus_points: int
    active: bool
    updated_by: str
    updated_at: dt.datetime


class PreferencesOut(msgspec.Struct):
    """A member's tastes (口味), allergies (过敏) and a note for the kitchen."""

    member_id: uuid.UUID
    tastes: list[str]
    allergies: list[str]
    note: str
    updated_by: str
    updated_at: dt.datetime | None


class VisitOut(msgspec.Struct):
    """One meal: ``meal_period`` (breakfast, lunch, afternoon_tea, dinner, late_night),
    ``service_mode`` (dine_in, takeaway, delivery), ``party_size`` (null: not sent), ``total`` and
    ``per_head`` in fen, ``refunded_amount`` since."""

    sale_id: uuid.UUID
    occurred_at: dt.datetime
    store: str
    meal_period: str
    service_mode: str
    party_size: int | None
    total: int
    per_head: int | None
    refunded_amount: int


class ReportOut(msgspec.Struct):
    """A report's columns and rows (amounts in fen)."""

    name: str
    columns: list[str]
    rows: list[list[Any]]


def _on(program: ProgramConfig) -> ProgramConfig:
    if not plugin_enabled(program, NAME):
        raise CateringOff()
    return program


async def _program(request: Request, program_id: uuid.UUID) -> ProgramConfig:
    return _on(await program_for(current_key(request), program_id))


async def _member(request: Request, member_id: uuid.UUID) -> ProgramConfig:
    row = await member_for(current_key(request), member_id)
    return _on(await get_program(row["program_id"]))


def _scheme(row: dict[str, Any]) -> SchemeOut:
    return msgspec.convert({k: v for k, v in row.items() if k != "id"}, SchemeOut, strict=False)


@get("/catering/programs/{program_id:uuid}/stamp-schemes", opt={"scope": Scope.READ}, tags=TAGS)
async def list_schemes(request: Request, program_id: FromPath[uuid.UUID]) -> list[SchemeOut]:
    """The program's stamp cards by code, retired ones included."""
    program = await _program(request, program_id)
    return [_scheme(row) for row in await stamps.list_schemes(program.id)]


@put("/catering/programs/{program_id:uuid}/stamp-schemes/{code:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_scheme(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], data: JSONBody[stamps.SchemeTerms]
) -> SchemeOut:
    """Add or change the stamp card ``code`` (its reward must be an active coupon template of the
    program); ``active: false`` retires it."""
    program = await _program(request, program_id)
    saved = await stamps.save_scheme(program.id, code, msgspec.to_builtins(data), current_key(request).actor)
    return _scheme(saved)


@get("/catering/programs/{program_id:uuid}/dining-rules", opt={"scope": Scope.READ}, tags=TAGS)
async def list_rules(request: Request, program_id: FromPath[uuid.UUID]) -> list[RuleOut]:
    """The program's dining rules by code."""
    program = await _program(request, program_id)
    return [msgspec.convert(row, RuleOut, strict=False) for row in await dining_rules.list_rules(program.id)]


@put("/catering/programs/{program_id:uuid}/dining-rules/{code:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_rule(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], data: JSONBody[dining_rules.RuleTerms]
) -> RuleOut:
    """Add or change the dining rule ``code``; ``active: false`` retires it."""
    program = await _program(request, program_id)
    saved = await dining_rules.save_rule(program.id, code, msgspec.to_builtins(data), current_key(request).actor)
    return msgspec.convert(saved, RuleOut, strict=False)


@get("/catering/programs/{program_id:uuid}/reports/{name:str}", opt={"scope": Scope.READ}, tags=TAGS)
async def report(
    request: Request,
    program_id: FromPath[uuid.UUID],
    name: FromPath[str],
    months: FromQuery[Annotated[int, msgspec.Meta(ge=0, le=600)]] = 0,
    by: FromQuery[str] = "",
    top: FromQuery[Annotated[int, msgspec.Meta(ge=0, le=reports.MAX_TOP)]] = 0,
    member_id: FromQuery[uuid.UUID | None] = None,
) -> ReportOut:
    """A catering report: ``catering_visits`` (by store, member or frequency),
    ``catering_per_head`` (by store, meal or member) or ``catering_dishes`` (by store or member;
    one member's with ``member_id``), over the last ``months`` (0: all time)."""
    program = await _program(request, program_id)
    params: dict[str, Any] = {"months": months}
    if by:
        params["by"] = by
    if top:
        params["top"] = top
    if member_id is not None:
        await member_for(current_key(request), member_id)
        params["member_id"] = member_id
    result = await reports.run_report(program.id, name, params)
    return ReportOut(name, result.columns, [[_plain(v) for v in row] for row in result.rows])


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


@get("/catering/members/{member_id:uuid}/stamp-cards", opt={"scope": Scope.READ}, tags=TAGS)
async def member_cards(request: Request, member_id: FromPath[uuid.UUID]) -> MemberCardsOut:
    """The member's stamp cards (one per active stamp card of the program) and their latest 20
    changes."""
    program = await _member(request, member_id)
    cards = [msgspec.convert(card, CardOut, strict=False) for card in await stamps.member_cards(program.id, member_id)]
    latest = [msgspec.convert(row, StampOut, strict=False) for row in await stamps.member_history(member_id)]
    return MemberCardsOut(member_id, cards, latest)


@get("/catering/members/{member_id:uuid}/visits", opt={"scope": Scope.READ}, tags=TAGS)
async def member_visits(
    request: Request, member_id: FromPath[uuid.UUID], limit: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=100)]] = 20
) -> list[VisitOut]:
    """The member's latest meals, newest first."""
    await _member(request, member_id)
    return [msgspec.convert(row, VisitOut, strict=False) for row in await visits.member_visits(member_id, limit)]


@get("/catering/members/{member_id:uuid}/preferences", opt={"scope": Scope.READ}, tags=TAGS)
async def get_preferences(request: Request, member_id: FromPath[uuid.UUID]) -> PreferencesOut:
    """The member's tastes, allergies and note."""
    await _member(request, member_id)
    return PreferencesOut(member_id=member_id, **await preferences.get_preferences(member_id))


@put("/catering/members/{member_id:uuid}/preferences", opt={"scope": Scope.POS}, tags=TAGS)
async def put_preferences(
    request: Request, member_id: FromPath[uuid.UUID], data: JSONBody[preferences.PreferencesIn]
) -> PreferencesOut:
    """Replace the member's tastes, allergies and note (the counter shows them)."""
    program = await _member(request, member_id)
    saved = await preferences.save_preferences(
        program.id, member_id, msgspec.to_builtins(data), current_key(request).actor
    )
    return PreferencesOut(member_id=member_id, **saved)


ROUTES = [
    list_schemes,
    save_scheme,
    list_rules,
    save_rule,
    report,
    member_cards,
    member_visits,
    get_preferences,
    put_preferences,
]
