"""Repurchase reminders (复购提醒) from each member's purchase cycle per category.

The ``retail-repurchase`` job, daily, for every program the pack is on in:

1. computes every member's cycle per category in one statement: the distinct days (in the
   program's time zone) the member bought the category within ``cycle_history_days`` (lines not
   refunded; the category from the catalogue when the till sent none); with at least
   ``cycle_min_purchases`` days, the cycle is the average gap (``(last − first) / (days − 1)``,
   rounded) and the next purchase is due one cycle after the last;
2. writes one reminder per member, category and due date once the due date is at most
   ``remind_days_before`` days ahead (and not yet past: a member who stopped buying the category
   is not chased), so each cycle is reminded once however often the job runs;
3. emits ``retail.repurchase_due`` for each new reminder (after the commit, through the outbox):
   a channel plugin that listens sends ``data["text"]`` by SMS, WeChat or e-mail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.plugin import Event, ProgramConfig, conflict_target, emit, execute, fetch, use_case
from membership_retail.dialect import as_date, days_between, local_day, plus_days
from membership_retail.settings import settings_of

EVENT = "retail.repurchase_due"
"""The event a reminder emits. ``data``: ``category``, ``last_bought_on``, ``cycle_days``,
``due_on`` (ISO dates), ``purchases`` and ``text`` (the message, in the program's language)."""


@dataclasses.dataclass(frozen=True)
class Cycle:
    """A member's purchase cycle in a category."""

    member_id: uuid.UUID
    category: str
    purchases: int
    cycle_days: int
    last_bought_on: dt.date
    due_on: dt.date


def _bought(program: ProgramConfig) -> str:
    """SQL of the distinct (member, category, day) purchases of the program since a time."""
    return (
        f"SELECT DISTINCT s.member_id, COALESCE(NULLIF(l.category, ''), p.category, '') AS category,"
        f" {local_day('s.occurred_at', program)} AS day"
        " FROM sale s JOIN sale_line l ON l.program_id = s.program_id AND l.sale_id = s.id"
        " LEFT JOIN retail_product p ON p.program_id = s.program_id AND p.sku = l.sku"
        " WHERE s.program_id = {} AND s.occurred_at >= {} AND s.occurred_at < {} AND l.refunded_quantity < l.quantity"
    )


@use_case
async def compute_cycles(program: ProgramConfig, now: dt.datetime) -> int:
    """Recompute the program's purchase cycles as of ``now`` (set-based: one statement writes them,
    one drops those no longer found); returns how many there are."""
    settings = settings_of(program)
    since = now - dt.timedelta(days=settings.cycle_history_days)
    span = days_between("last_day", "first_day")
    rows = await fetch(
        f"WITH bought AS ({_bought(program)}),"
        " gaps AS (SELECT member_id, category, COUNT(*) AS purchases, MIN(day) AS first_day, MAX(day) AS last_day"
        " FROM bought WHERE category <> '' GROUP BY member_id, category HAVING COUNT(*) >= {}),"
        f" cycles AS (SELECT member_id, category, purchases, last_day,"
        f" CAST(ROUND(1.0 * {span} / (purchases - 1)) AS INTEGER) AS cycle_days FROM gaps)"
        " INSERT INTO retail_cycle (id, program_id, member_id, category, purchases, cycle_days, last_bought_on,"
        " due_on, computed_at)"
        f" SELECT uuid7(), {{}}, member_id, category, purchases, cycle_days, last_day,"
        f" {plus_days('last_day', 'cycle_days')}, {{}} FROM cycles WHERE cycle_days >= 1"
        " ON CONFLICT "
        + await conflict_target("member_id", "category")
        + " DO UPDATE SET purchases = excluded.purchases,"
        " cycle_days = excluded.cycle_days, last_bought_on = excluded.last_bought_on, due_on = excluded.due_on,"
        " computed_at = excluded.computed_at RETURNING id",
        program.id,
        since,
        now,
        settings.cycle_min_purchases,
        program.id,
        now,
    )
    await execute("DELETE FROM retail_cycle WHERE program_id = {} AND computed_at <> {}", program.id, now)
    return len(rows)


def _text(program: ProgramConfig, row: dict[str, Any]) -> str:
    last, cycle = as_date(row["last_bought_on"]), int(row["cycle_days"])
    if program.language == "en":
        return (
            f"You usually buy {row['category']} every {cycle} days; your last was on {last.isoformat()}."
            " Time to stock up?"
        )
    return f"您大约每 {cycle} 天购买一次{row['category']}，上次是 {last.month} 月 {last.day} 日，该补货啦！"


@use_case
async def remind(program: ProgramConfig, now: dt.datetime) -> int:
    """Write the reminders now due (once per member, category and due date: the unique index says
    so) and emit ``retail.repurchase_due`` for each; returns how many."""
    settings = settings_of(program)
    today = now.astimezone(program.zone).date()
    rows = await fetch(
        "INSERT INTO retail_reminder (id, program_id, member_id, category, due_on, created_at)"
        " SELECT uuid7(), c.program_id, c.member_id, c.category, c.due_on, {} FROM retail_cycle c"
        " JOIN member m ON m.program_id = c.program_id AND m.id = c.member_id AND m.status = 'active'"
        " WHERE c.program_id = {} AND c.due_on <= {} AND c.due_on >= {}"
        " ON CONFLICT "
        + await conflict_target("member_id", "category", "due_on")
        + " DO NOTHING RETURNING member_id, category, due_on",
        now,
        program.id,
        today + dt.timedelta(days=settings.remind_days_before),
        today,
    )
    if not rows:
        return 0
    cycles = {
        (str(row["member_id"]), row["category"]): row
        for row in await fetch(
            "SELECT c.member_id, c.category, c.purchases, c.cycle_days, c.last_bought_on, c.due_on"
            " FROM retail_cycle c JOIN retail_reminder r ON r.program_id = c.program_id AND r.member_id ="
            " c.member_id AND r.category = c.category"
            " AND r.due_on = c.due_on WHERE r.program_id = {} AND r.created_at = {}",
            program.id,
            now,
        )
    }
    for row in rows:
        cycle = cycles[str(row["member_id"]), row["category"]]
        emit(
            Event(
                EVENT,
                program.id,
                row["member_id"],
                {
                    "category": row["category"],
                    "purchases": int(cycle["purchases"]),
                    "cycle_days": int(cycle["cycle_days"]),
                    "last_bought_on": as_date(cycle["last_bought_on"]).isoformat(),
                    "due_on": as_date(cycle["due_on"]).isoformat(),
                    "text": _text(program, cycle),
                },
                occurred_at=now,
            )
        )
    return len(rows)


async def member_cycles(member_id: uuid.UUID) -> list[Cycle]:
    """A member's purchase cycles, soonest due first (as the last job run computed them)."""
    rows = await fetch(
        "SELECT member_id, category, purchases, cycle_days, last_bought_on, due_on FROM retail_cycle"
        " WHERE member_id = {} ORDER BY due_on, category",
        member_id,
    )
    return [
        Cycle(
            row["member_id"],
            row["category"],
            int(row["purchases"]),
            int(row["cycle_days"]),
            as_date(row["last_bought_on"]),
            as_date(row["due_on"]),
        )
        for row in rows
    ]


async def cycles_by_category(program_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per category: how many members have a cycle and its average length (as of the last run)."""
    return await fetch(
        "SELECT category, COUNT(*) AS members, CAST(ROUND(AVG(cycle_days)) AS INTEGER) AS average_days"
        " FROM retail_cycle WHERE program_id = {} GROUP BY category ORDER BY COUNT(*) DESC, category",
        program_id,
    )


async def recent_reminders(program_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The latest reminders, newest first."""
    return await fetch(
        "SELECT r.member_id, r.category, r.due_on, r.created_at, m.member_no, m.name FROM retail_reminder r"
        " JOIN member m ON m.program_id = r.program_id AND m.id = r.member_id WHERE r.program_id = {} ORDER BY"
        " r.created_at DESC, r.category LIMIT {}",
        program_id,
        limit,
    )
