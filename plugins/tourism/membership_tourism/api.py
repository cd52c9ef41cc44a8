"""REST routes of the tourism pack, mounted by the kernel under ``/api/v1/tourism`` behind the
API-key guard. Each route checks that its key may see the program, member or pass it names, and
answers 409 ``tourism_off`` where the pack is not switched on for the program.

* ``POST /tourism/entries`` — a gate asks whether a visitor enters (pos): always 200 with
  ``allowed`` and, when refused, a ``reason`` code and a Chinese ``message`` for the gate's screen;
* ``GET /tourism/programs/{id}/entries`` — the latest tries at the gates and today's counts (read);
* ``POST/GET /tourism/members/{id}/passes`` — sell or renew a pass (pos), the member's passes (read);
* ``POST/DELETE /tourism/passes/{id}/family[/{member_id}]`` — family members (副卡) (pos);
* ``GET /tourism/passes/{id}/e-card`` — the e-card code a person shows now (pos: the app's backend);
* ``GET/PUT /tourism/programs/{id}/pass-plans[/{code}]``, ``…/blackout-dates[/{day}]`` (and
  ``DELETE``), ``…/venues[/{store}]``, ``…/gates[/{code}]`` — set-up (read / admin);
* ``GET /tourism/programs/{id}/reports/{name}`` — the tourism reports (read).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from membership.plugin import (
    ProgramConfig,
    Reason,
    Scope,
    ValidationError,
    current_key,
    get_program,
    member_for,
    plugin_enabled,
    program_for,
    store_for,
)
from membership_tourism import e_card, entries, gates, pass_plans, passes, reports, venues
from membership_tourism.errors import NotOnPass, TourismOff
from membership_tourism.settings import NAME
from membership_tourism.values import local_day, now, parse_day

TAGS = ["tourism"]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", min_length=1, max_length=255, description="Makes the request safe to retry."
    ),
]


class CredentialIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the visitor showed: ``pass_qr`` (the e-card's QR text), ``id_card`` (身份证) or a card
    kind of the kernel (``card_uid``…), with the value as read."""

    kind: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,15}$", examples=["pass_qr"])]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EntryIn(msgspec.Struct, forbid_unknown_fields=True):
    """A try at gate ``gate`` (its code); ``program_id`` when the key sees several programs."""

    gate: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    credential: CredentialIn
    program_id: uuid.UUID | None = None


class EntryRow(msgspec.Struct):
    """One try at a gate."""

    id: uuid.UUID
    occurred_at: dt.datetime
    gate: str
    allowed: bool
    reason: str
    kind: str
    member_no: str | None
    pass_id: uuid.UUID | None


class GateCount(msgspec.Struct):
    """A gate's day: entries let in, tries refused, people let in."""

    gate: str
    gate_name: str
    entries: int
    refused: int
    visitors: int


class EntriesOut(msgspec.Struct):
    """The latest tries (newest first) and the day's counts per gate."""

    day: dt.date
    counts: list[GateCount]
    latest: list[EntryRow]


class SellIn(msgspec.Struct, forbid_unknown_fields=True):
    """A pass sold (or renewed) at the till: its plan, how it was paid, where."""

    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    method: Literal["cash", "card", "wechat_pay", "alipay", "stored_value"] = "cash"
    store_id: uuid.UUID | None = None


class FamilyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A family member (副卡) to add: a member of the program, and how they are related."""

    member_id: uuid.UUID
    relation: Literal["spouse", "child", "parent", "other"] = "other"


class PersonOut(msgspec.Struct):
    """Someone on a pass: ``holder`` (主卡) or ``family`` (副卡)."""

    member_id: uuid.UUID
    member_no: str
    role: str
    relation: str
    added_at: dt.datetime


class BoughtOut(msgspec.Struct):
    """The kernel's paid membership a sale made."""

    id: uuid.UUID
    fee: int
    method: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    replayed: bool


class PassOut(msgspec.Struct):
    """A pass: its plan, ``state`` now (``valid``, ``not_started``, ``expired``, ``none``) with the
    current term, and the people on it (``role`` is the asked member's)."""

    id: uuid.UUID
    plan: str
    plan_name: str
    kind: str
    holder_id: uuid.UUID
    state: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    max_family: int
    people: list[PersonOut]
    role: str | None = None
    bought: BoughtOut | None = None


class ECardOut(msgspec.Struct):
    """The e-card code a person shows now: the QR text, when it stops, how often it changes."""

    token: str
    valid_until: dt.datetime
    step_seconds: int
    member_id: uuid.UUID


class PlanOut(msgspec.Struct):
    """A pass plan with its paid plan's name, fee (fen), tier and days (null: not sold any more)."""

    code: str
    name: str
    kind: str
    max_family: int
    daily_entries: int
    reentry_minutes: int
    active: bool
    fee: int | None
    tier: str | None
    days: int | None
    updated_by: str
    updated_at: dt.datetime


class BlackoutOut(msgspec.Struct):
    """A blackout date and the plans it closes (empty: all)."""

    day: dt.date
    name: str
    plans: list[str]


class VenueOut(msgspec.Struct):
    """A store and its venue terms (``format`` null: not a venue)."""

    store_id: uuid.UUID
    code: str
    name: str
    format: str | None
    pass_points_pct: int
    pass_discount_pct: int


class GateOut(msgspec.Struct):
    """A gate and its store."""

    code: str
    name: str
    active: bool
    store_id: uuid.UUID
    store_code: str
    store_name: str


class ReportOut(msgspec.Struct):
    """A report's columns and rows (amounts in fen, rates in percent)."""

    name: str
    columns: list[str]
    rows: list[list[Any]]


def _on(program: ProgramConfig) -> ProgramConfig:
    if not plugin_enabled(program, NAME):
        raise TourismOff()
    return program


async def _program(request: Request, program_id: uuid.UUID | None) -> ProgramConfig:
    return _on(await program_for(current_key(request), program_id))


async def _member(request: Request, member_id: uuid.UUID) -> ProgramConfig:
    row = await member_for(current_key(request), member_id)
    return _on(await get_program(row["program_id"]))


async def _pass(request: Request, pass_id: uuid.UUID) -> tuple[ProgramConfig, dict[str, Any]]:
    row = await passes.get_pass(pass_id)
    return await _member(request, row["holder_id"]), row


async def _pass_out(program: ProgramConfig, row: dict[str, Any], role: str | None = None) -> PassOut:
    plan = await pass_plans.find_plan(program, row["plan_code"])
    term = await passes.term_at(row["holder_id"], row["plan_code"], now())
    people = [
        PersonOut(p["member_id"], p["member_no"], p["role"], p["relation"], p["added_at"])
        for p in await passes.people(row["id"])
    ]
    return PassOut(
        id=row["id"],
        plan=row["plan_code"],
        plan_name=plan.name if plan else row["plan_code"],
        kind=plan.kind if plan else "",
        holder_id=row["holder_id"],
        state=term.state,
        starts_at=term.starts_at,
        ends_at=term.ends_at,
        max_family=plan.max_family if plan else 0,
        people=people,
        role=role,
    )


@post("/tourism/entries", opt={"scope": Scope.POS}, tags=TAGS, status_code=200)
async def enter(request: Request, data: JSONBody[EntryIn], idempotency_key: IdempotencyKey = None) -> Response:
    """A visitor at a gate: let in, or refused with the reason (``allowed``, ``reason``,
    ``message`` in Chinese for the gate's screen, ``message_en``). The key must be the gate's
    store's when it is bound to one. A retry with the same ``Idempotency-Key`` answers the same
    and counts once (``Idempotent-Replayed: true``)."""
    key = current_key(request)
    program = await _program(request, data.program_id)
    gate = await gates.get_gate(program, data.gate)
    await store_for(key, program, gate["store_id"])
    decision = await entries.admit(
        program, data.gate, data.credential.kind, data.credential.value, None, idempotency_key
    )
    headers = {"Idempotent-Replayed": "true"} if decision.replayed else {}
    return Response(decision, status_code=200, headers=headers)


@get("/tourism/programs/{program_id:uuid}/entries", opt={"scope": Scope.READ}, tags=TAGS)
async def list_entries(
    request: Request,
    program_id: FromPath[uuid.UUID],
    day: FromQuery[str] = "",
    gate: FromQuery[str] = "",
    limit: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=500)]] = 50,
) -> EntriesOut:
    """The latest tries at the gates of ``day`` (default: today, local) and ``gate`` (default: all),
    newest first, with the day's counts per gate."""
    program = await _program(request, program_id)
    on = parse_day(day) if day else local_day(program, now()).day
    rows = await entries.recent_entries(program, on, gate or None, limit)
    return EntriesOut(
        on,
        [GateCount(**row) for row in await entries.day_counts(program, on)],
        [
            EntryRow(
                r["id"],
                r["occurred_at"],
                r["gate"],
                bool(r["allowed"]),
                r["reason"],
                r["kind"],
                r["member_no"],
                r["pass_id"],
            )
            for r in rows
        ],
    )


@post("/tourism/members/{member_id:uuid}/passes", opt={"scope": Scope.POS}, tags=TAGS, status_code=201)
async def sell(
    request: Request, member_id: FromPath[uuid.UUID], data: JSONBody[SellIn], idempotency_key: IdempotencyKey = None
) -> Response:
    """Sell or renew the pass of plan ``plan`` to the member (the kernel's paid membership: its fee,
    its tier at once; a renewal runs on from the end), at the key's store or ``store_id``."""
    key = current_key(request)
    program = await _member(request, member_id)
    store = await store_for(key, program, data.store_id)
    row, bought = await passes.sell_pass(member_id, data.plan, data.method, store, idempotency_key, key.actor)
    out = await _pass_out(program, row, "holder")
    out.bought = BoughtOut(bought.id, bought.fee, bought.method, bought.starts_at, bought.ends_at, bought.replayed)
    return Response(out, status_code=201, headers={"Idempotent-Replayed": "true"} if bought.replayed else {})


@get("/tourism/members/{member_id:uuid}/passes", opt={"scope": Scope.READ}, tags=TAGS)
async def member_passes(request: Request, member_id: FromPath[uuid.UUID]) -> list[PassOut]:
    """The passes the member is on (as holder or family), with who else is on them."""
    program = await _member(request, member_id)
    found = []
    for place in await passes.places_of(program.id, member_id):
        found.append(await _pass_out(program, await passes.get_pass(place["pass_id"]), place["role"]))
    return found


@post("/tourism/passes/{pass_id:uuid}/family", opt={"scope": Scope.POS}, tags=TAGS, status_code=201)
async def add_family(request: Request, pass_id: FromPath[uuid.UUID], data: JSONBody[FamilyIn]) -> PassOut:
    """Add a family member (副卡) to the holder's pass, as many as its plan allows."""
    program, _ = await _pass(request, pass_id)
    await member_for(current_key(request), data.member_id)
    row = await passes.add_family(pass_id, data.member_id, data.relation, current_key(request).actor)
    return await _pass_out(program, row, "holder")


@delete("/tourism/passes/{pass_id:uuid}/family/{member_id:uuid}", opt={"scope": Scope.POS}, tags=TAGS)
async def remove_family(request: Request, pass_id: FromPath[uuid.UUID], member_id: FromPath[uuid.UUID]) -> None:
    """Take a family member off the pass."""
    program, _ = await _pass(request, pass_id)
    await passes.remove_family(program.id, pass_id, member_id, current_key(request).actor)


@get("/tourism/passes/{pass_id:uuid}/e-card", opt={"scope": Scope.POS}, tags=TAGS)
async def e_card_code(
    request: Request, pass_id: FromPath[uuid.UUID], member_id: FromQuery[uuid.UUID | None] = None
) -> ECardOut:
    """The e-card code the holder (or the family member ``member_id``) shows now; it changes every
    ``step_seconds`` (the settings' ``qr_step_seconds``) and a gate takes it once."""
    program, row = await _pass(request, pass_id)
    who = member_id or row["holder_id"]
    person = next((p for p in await passes.people(pass_id) if p["member_id"] == who), None)
    if person is None:
        raise NotOnPass()
    code = await e_card.code_for(program, row["holder_id"], row["secret"], person["id"], now())
    return ECardOut(code.token, code.valid_until, code.step_seconds, who)


def _plan_out(plan: pass_plans.PassPlan) -> PlanOut:
    paid = plan.paid
    return PlanOut(
        plan.code,
        plan.name,
        plan.kind,
        plan.max_family,
        plan.daily_entries,
        plan.reentry_minutes,
        plan.active,
        paid.fee if paid else None,
        paid.tier if paid else None,
        paid.days if paid else None,
        plan.updated_by,
        plan.updated_at,
    )


@get("/tourism/programs/{program_id:uuid}/pass-plans", opt={"scope": Scope.READ}, tags=TAGS)
async def list_plans(request: Request, program_id: FromPath[uuid.UUID]) -> list[PlanOut]:
    """The program's annual and seasonal passes."""
    program = await _program(request, program_id)
    return [_plan_out(plan) for plan in await pass_plans.list_plans(program)]


@put("/tourism/programs/{program_id:uuid}/pass-plans/{code:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_plan(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], data: JSONBody[pass_plans.PassPlanTerms]
) -> PlanOut:
    """Make the paid plan ``code`` a pass (``kind``, ``max_family``, ``daily_entries``,
    ``reentry_minutes``) or change its terms; ``active: false`` stops selling it."""
    program = await _program(request, program_id)
    plan = await pass_plans.save_plan(program.id, code, msgspec.to_builtins(data), current_key(request).actor)
    return _plan_out(plan)


@get("/tourism/programs/{program_id:uuid}/blackout-dates", opt={"scope": Scope.READ}, tags=TAGS)
async def list_blackouts(
    request: Request, program_id: FromPath[uuid.UUID], since: FromQuery[str] = ""
) -> list[BlackoutOut]:
    """The blackout dates (from ``since`` on, when given)."""
    program = await _program(request, program_id)
    start = parse_day(since, "since") if since else None
    return [BlackoutOut(**row) for row in await pass_plans.list_blackouts(program.id, start)]


@put("/tourism/programs/{program_id:uuid}/blackout-dates/{day:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_blackout(
    request: Request, program_id: FromPath[uuid.UUID], day: FromPath[str], data: JSONBody[pass_plans.BlackoutTerms]
) -> BlackoutOut:
    """Close the gates to passes on ``day`` (all plans, or those in ``plans``)."""
    program = await _program(request, program_id)
    saved = await pass_plans.save_blackout(
        program.id, parse_day(day), msgspec.to_builtins(data), current_key(request).actor
    )
    return BlackoutOut(**saved)


@delete("/tourism/programs/{program_id:uuid}/blackout-dates/{day:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def delete_blackout(request: Request, program_id: FromPath[uuid.UUID], day: FromPath[str]) -> None:
    """Open the gates to passes again on ``day``."""
    program = await _program(request, program_id)
    if not await pass_plans.delete_blackout(program.id, parse_day(day)):
        raise ValidationError(field="day", reason=Reason("not a blackout date", "该日期不是不可用日期"))


@get("/tourism/programs/{program_id:uuid}/venues", opt={"scope": Scope.READ}, tags=TAGS)
async def list_venues(request: Request, program_id: FromPath[uuid.UUID]) -> list[VenueOut]:
    """The merchant's stores and their venue terms."""
    program = await _program(request, program_id)
    return [msgspec.convert(v, VenueOut, strict=False) for v in await venues.list_venues(program)]


@put("/tourism/programs/{program_id:uuid}/venues/{store:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_venue(
    request: Request, program_id: FromPath[uuid.UUID], store: FromPath[str], data: JSONBody[venues.VenueTerms]
) -> VenueOut:
    """Tag the store (id or code) as a venue of ``format`` with pass holders' benefits."""
    program = await _program(request, program_id)
    saved = await venues.save_venue(program.id, store, msgspec.to_builtins(data), current_key(request).actor)
    return msgspec.convert(saved, VenueOut, strict=False)


@get("/tourism/programs/{program_id:uuid}/gates", opt={"scope": Scope.READ}, tags=TAGS)
async def list_gates(request: Request, program_id: FromPath[uuid.UUID]) -> list[GateOut]:
    """The program's gates."""
    program = await _program(request, program_id)
    return [msgspec.convert(g, GateOut, strict=False) for g in await gates.list_gates(program)]


@put("/tourism/programs/{program_id:uuid}/gates/{code:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_gate(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], data: JSONBody[gates.GateTerms]
) -> GateOut:
    """Add or change the gate ``code`` (its name, its store by id or code, whether it is in use)."""
    program = await _program(request, program_id)
    saved = await gates.save_gate(program.id, code, msgspec.to_builtins(data), current_key(request).actor)
    return msgspec.convert(saved, GateOut, strict=False)


@get("/tourism/programs/{program_id:uuid}/reports/{name:str}", opt={"scope": Scope.READ}, tags=TAGS)
async def report(
    request: Request,
    program_id: FromPath[uuid.UUID],
    name: FromPath[str],
    months: FromQuery[Annotated[int, msgspec.Meta(ge=0, le=600)]] = 0,
    by: FromQuery[str] = "",
) -> ReportOut:
    """A tourism report: ``tourism_revisits`` (by month, plan or total), ``tourism_secondary`` (by
    month or format), ``tourism_entries`` (by hour, gate or day), ``tourism_renewals`` (by month) or
    ``tourism_cross_venue`` (by venue), over the last ``months`` (0: all time)."""
    program = await _program(request, program_id)
    params: dict[str, Any] = {"months": months}
    if by:
        params["by"] = by
    result = await reports.run_report(program.id, name, params)
    return ReportOut(name, result.columns, result.rows)


ROUTES = [
    enter,
    list_entries,
    sell,
    member_passes,
    add_family,
    remove_family,
    e_card_code,
    list_plans,
    save_plan,
    list_blackouts,
    save_blackout,
    delete_blackout,
    list_venues,
    save_venue,
    list_gates,
    save_gate,
    report,
]
