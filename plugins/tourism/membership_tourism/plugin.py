"""Tourism (文旅景区): the pack's hooks. The kernel loads this module through the ``membership``
entry point ``tourism`` (the pack's name everywhere: ``--industry tourism``, the per-program
switch, ``MEMBERSHIP_PLUGINS``). Installed is not enabled: its hooks run only for the programs an
owner switched it on for (its routes, pages and reports are there for every program and refuse
programs it is off for).

* identity: the credential kinds ``id_card`` (身份证, secret: only its keyed hash is kept) and
  ``pass_qr`` (the pass's rotating e-card code, which identifies its person at every till);
* points and prices: pass holders' extra points and discounts at venues (:mod:`membership_tourism.venues`);
* events: a pass for every pass plan bought through the kernel's paid memberships; an erased member
  is taken off every pass;
* the counter: the member's passes, their end and today's entries;
* the rest: tables, API routes, console pages, reports and the demo.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator
from typing import Any

from membership.plugin import (
    Award,
    ConsolePage,
    CredentialKindSpec,
    DemoProfile,
    EarnContext,
    Event,
    PluginMeta,
    PriceContext,
    ProgramConfig,
    Report,
    get_program,
    hookimpl,
    payload_of,
)
from membership_tourism import api, console, demo, e_card, id_card, passes, reports, venues
from membership_tourism.pass_plans import KIND_NAMES, find_plan
from membership_tourism.settings import TourismSettings, settings_of
from membership_tourism.values import local_day, now


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """The pack is switched on per program, with :class:`TourismSettings`."""
    return PluginMeta(
        "文旅景区",
        "Tourism",
        "年卡/季卡入园核验（电子码、身份证、实体卡）、副卡、不可用日期、跨业态权益、重游率与二次消费报表",
        "Annual and seasonal passes at the gates (e-card, ID card, card), family members, blackout dates,"
        " cross-venue benefits, revisit and secondary-spending reports",
        TourismSettings,
    )


@hookimpl
def membership_piccolo_apps() -> list[str]:
    """The pack's tables (``tourism_…``)."""
    return ["membership_tourism.piccolo_app"]


@hookimpl
def membership_register_credential_kinds() -> list[CredentialKindSpec]:
    """``id_card`` (身份证) and ``pass_qr`` (年卡电子码)."""
    return [id_card.KIND, e_card.KIND]


@hookimpl(tryfirst=True)
async def membership_identify(program_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
    """The person a pass's e-card code belongs to, while the code is good (any till of the scenic
    area takes it); None for other kinds and for codes that are not good now."""
    if kind != e_card.KIND_NAME:
        return None
    scanned = e_card.parse(value)
    person = await passes.person_row(scanned.person_id) if scanned else None
    if scanned is None or person is None or person["program_id"] != program_id or person["removed_at"] is not None:
        return None
    program = await get_program(program_id)
    try:
        problem = await e_card.verdict(program, person["holder_id"], person["secret"], scanned, now())
    except Exception:
        return None
    return None if problem else person["member_id"]


@hookimpl
def membership_register_routes() -> list[Any]:
    """``/api/v1/tourism/…``."""
    return api.ROUTES


@hookimpl
def membership_register_console_pages() -> list[ConsolePage]:
    """景区年卡 (``/console/tourism``) with its own menu."""
    return [console.PAGE]


@hookimpl
def membership_register_reports() -> list[type[Report]]:
    """The five tourism reports (``tourism_…``)."""
    return list(reports.REPORTS.values())


@hookimpl
def membership_demo_profile() -> DemoProfile:
    """云栖山水文旅: a scenic area with a ticket office, a hotel, a restaurant, a shop and a show."""
    return demo.PROFILE


@hookimpl
async def membership_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """Passes, venues, gates, blackout dates; a year of passes sold and renewed, family members,
    ID cards, entries and same-day purchases at the venues."""
    await demo.add_demo_data(program, store_ids, rng)


@hookimpl
async def membership_points_awards(context: EarnContext) -> list[Award]:
    """Pass holders' extra points at the venue (priced by the wrapper below)."""
    return await venues.awards(context)


@hookimpl(wrapper=True, specname="membership_points_awards")
def price_pass_bonus(context: EarnContext) -> Generator[None, list[list[Award]], list[list[Award]]]:
    """Every plugin's awards, with pass holders' bonus turned into points of the base points."""
    results = yield
    return venues.priced(context, results)


@hookimpl
async def membership_line_prices(context: PriceContext) -> list[tuple[int, int]]:
    """Pass holders' discount at the venue, as member prices."""
    return await venues.prices(context)


@hookimpl
async def membership_event(event: Event) -> None:
    """A pass for a pass plan bought through the kernel; an erased member off every pass. Both are
    idempotent (a pass per holder and plan; removing twice removes once), so a repeated delivery
    changes nothing."""
    if event.name == "paid_membership.bought" and event.member_id is not None:
        program = await get_program(event.program_id)
        plan = await find_plan(program, payload_of(event).plan)
        if plan is not None:
            await passes.ensure_pass(program, event.member_id, plan.code, "event")
    elif event.name == "member.erased" and event.member_id is not None:
        await passes.forget_member(event.program_id, event.member_id)


@hookimpl
async def membership_counter_notes(program: ProgramConfig, member_id: uuid.UUID, language: str) -> list[str]:
    """The member's passes: plan, end, family members and today's entries."""
    if not settings_of(program).show_at_counter:
        return []
    en = language == "en"
    notes = []
    at = now()
    today = local_day(program, at).day
    for place in await passes.member_passes(program, member_id, at):
        plan, term = place["plan"], place["term"]
        if plan is None:
            continue
        kind = KIND_NAMES[plan.kind][1 if en else 0]
        family = sum(1 for person in place["people"] if person["role"] == "family")
        if term.state == "valid":
            end = term.ends_at.astimezone(program.zone).date().isoformat()
            state = f"valid until {end}" if en else f"有效期至 {end}"
        elif term.state == "expired":
            state = "expired" if en else "已到期"
        else:
            state = "not started" if en else "未生效"
        role = ("holder" if en else "主卡") if place["role"] == "holder" else ("family" if en else "副卡")
        entered = await passes.entries_on(member_id, today)
        if en:
            notes.append(f"{kind} {plan.name} ({role}): {state}; family {family}; entries today {entered}")
        else:
            notes.append(f"{kind}「{plan.name}」（{role}）：{state}，副卡 {family} 人，今日入园 {entered} 次")
    return notes
