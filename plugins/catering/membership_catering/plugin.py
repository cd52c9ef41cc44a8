"""Catering (餐饮): the pack's hooks. The kernel loads this module through the ``membership``
entry point ``catering`` (the pack's name everywhere: ``--industry catering``, the per-program
switch, ``MEMBERSHIP_PLUGINS``). Installed is not enabled: its hooks run only for the programs an
owner switched it on for (its routes, pages, jobs and reports are there for every program and
refuse programs it is off for).

* points: dining rules (:mod:`membership_catering.dining_rules`) through
  ``membership_points_awards`` and a wrapper that prices their multiplier on the base points;
* events: meals and stamp cards follow ``purchase.recorded`` and ``sale.refunded``
  (:mod:`membership_catering.stamps`); ``member.erased`` forgets tastes and allergies;
* the counter: allergies, tastes and stamp-card progress on the member's panel;
* the rest: tables, API routes, console pages, the daily stamp-card job, reports and the demo.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator
from typing import Any

from membership.plugin import (
    Award,
    ConsolePage,
    DemoProfile,
    EarnContext,
    Event,
    Job,
    PluginMeta,
    ProgramConfig,
    Report,
    hookimpl,
    plugin_settings,
)
from membership_catering import api, console, demo, dining_rules, jobs, preferences, reports, sale_events, stamps
from membership_catering.settings import NAME, CateringSettings


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """The pack is switched on per program, with :class:`CateringSettings`."""
    return PluginMeta(
        "餐饮",
        "Catering",
        "集点卡、餐段与就餐方式积分、人均消费、口味与过敏提醒、餐饮报表",
        "Stamp cards, meal-period and service-mode points, per-head spend, tastes and allergies, dining reports",
        CateringSettings,
    )


@hookimpl
def membership_piccolo_apps() -> list[str]:
    """The pack's tables (``catering_…``)."""
    return ["membership_catering.piccolo_app"]


@hookimpl
def membership_register_routes() -> list[Any]:
    """``/api/v1/catering/…``."""
    return api.ROUTES


@hookimpl
def membership_register_console_pages() -> list[ConsolePage]:
    """集点卡, 餐饮积分规则, 会员口味与集点, 餐饮报表."""
    return console.pages()


@hookimpl
def membership_register_jobs() -> list[type[Job]]:
    """``catering-stamp-cards`` (daily)."""
    return [jobs.StampCardsJob]


@hookimpl
def membership_register_reports() -> list[type[Report]]:
    """``catering_visits``, ``catering_per_head``, ``catering_dishes``."""
    return list(reports.REPORTS.values())


@hookimpl
def membership_demo_profile() -> DemoProfile:
    """悦食餐饮集团: four restaurants with a coffee bar."""
    return demo.PROFILE


@hookimpl
async def membership_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The stamp card, its reward, dining rules, tastes and allergies; the year of sales settled."""
    await demo.add_demo_data(program, store_ids, rng)


@hookimpl
async def membership_points_awards(context: EarnContext) -> list[Award]:
    """Bonus points of the dining rules that apply to the purchase (and their multiplier, which the
    wrapper below prices)."""
    return await dining_rules.awards(context, plugin_settings(context.program, NAME, CateringSettings))


@hookimpl(wrapper=True, specname="membership_points_awards")
def price_dining_multiplier(context: EarnContext) -> Generator[None, list[list[Award]], list[list[Award]]]:
    """Every plugin's awards, with the dining multiplier turned into points of the base points."""
    results = yield
    return dining_rules.priced(context, results)


@hookimpl
async def membership_event(event: Event) -> None:
    """Meals and stamps after purchases and refunds; tastes forgotten after an erasure. Each
    event is handled once, whatever the number of deliveries."""
    if event.name in sale_events.HANDLED:
        await sale_events.handle(event)


@hookimpl
async def membership_counter_notes(program: ProgramConfig, member_id: uuid.UUID, language: str) -> list[str]:
    """Allergies, tastes and the kitchen note (when the settings say so), and stamp-card progress."""
    notes: list[str] = []
    if plugin_settings(program, NAME, CateringSettings).show_at_counter:
        notes += preferences.notes(await preferences.get_preferences(member_id), language)
    for card in await stamps.member_cards(program.id, member_id):
        if card["active"] and (card["stamps"] or card["reward_waiting"]):
            count = f"{card['stamps']}/{card['stamps_needed']}"
            if language == "en":
                notes.append(f"{card['name']} ({count}{', reward waiting' if card['reward_waiting'] else ''})")
            else:
                notes.append(f"{card['name']}（{count}{'，奖励待发' if card['reward_waiting'] else ''}）")
    return notes
