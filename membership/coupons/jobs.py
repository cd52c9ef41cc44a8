"""Coupon jobs: expiry (优惠券过期) and birthday grants (生日券). Both are chunked (each chunk
commits on its own) and safe to run twice: the second run changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.coupons.service import chunks, date_of, ended, issue_rows, local_today, occasion_for
from membership.db import fetch, fetch_one, is_sqlite, placeholders, use_case
from membership.jobs.interface import Job, JobResult, Pace, Progress
from membership.members.birthdays import birthday_in_year
from membership.org.service import ProgramConfig, list_programs

BIRTHDAY_CHUNK = 1000  # members per chunk of the birthday grant


@use_case
async def _expire_chunk(program_id: uuid.UUID, today: dt.date, now: dt.datetime, chunk_size: int) -> int:
    rows = await fetch(
        "UPDATE coupon SET state = 'expired', changed_at = {} WHERE program_id = {} AND id IN (SELECT id FROM coupon"
        " WHERE program_id = {} AND state = 'issued' AND valid_until < {} LIMIT {}) RETURNING id",
        now,
        program_id,
        program_id,
        today,
        chunk_size,
    )
    return len(rows)


async def expire_coupons(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """Mark every ``issued`` coupon past its last day (local to its program) ``expired``, one
    committed chunk at a time; a second run finds nothing to do."""
    pace = Pace(chunk_size)
    due: list[tuple[ProgramConfig, dt.date, int]] = []
    for program in await list_programs():
        today = local_today(program, now)
        row = await fetch_one(
            "SELECT COUNT(*) AS n FROM coupon WHERE program_id = {} AND state = 'issued' AND valid_until < {}",
            program.id,
            today,
        )
        if int(row["n"]):
            due.append((program, today, int(row["n"])))
    total, done = sum(n for _, _, n in due), 0
    progress(0, total)
    for program, today, _ in due:
        while n := await _expire_chunk(program.id, today, now, pace.size):
            done += n
            progress(done, total)
            await pace.rest()
    return JobResult(done, f"优惠券过期 {done} 张 / coupons expired: {done}")


def _month_day(column: str) -> str:
    return f"substr({column}, 6, 5)" if is_sqlite() else f"to_char({column}, 'MM-DD')"


async def birthday_members(program: ProgramConfig, template: dict[str, Any], today: dt.date) -> list[uuid.UUID]:
    """Active members of the program whose birthday (solar, or lunar converted to this year's
    date) is today — or, for a template with ``birthday_window`` ``month``, falls in this month —
    and who have not had this template for this year's birthday."""
    occasion = occasion_for("birthday", year=today.year)
    month_window = template["birthday_window"] == "month"
    solar_days = [today.strftime("%m-%d")]
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        solar_days.append("02-29")  # celebrated on 28 February in a common year
    if month_window:
        solar = f"substr({_month_day('m.birthday')}, 1, 2) = {{}}"
        solar_args: list[Any] = [today.strftime("%m")]
    else:
        solar = f"{_month_day('m.birthday')} IN ({placeholders(solar_days)})"
        solar_args = list(solar_days)
    fresh = (
        " AND NOT EXISTS (SELECT 1 FROM coupon c WHERE c.program_id = m.program_id AND c.template_id = {}"
        " AND c.member_id = m.id AND c.occasion = {})"
    )
    base = "SELECT m.id, m.birthday, m.birthday_calendar FROM member m WHERE m.program_id = {} AND m.status = 'active'"
    rows = await fetch(
        base + f" AND m.birthday IS NOT NULL AND m.birthday_calendar = 'solar' AND {solar}" + fresh,
        program.id,
        *solar_args,
        template["id"],
        occasion,
    )
    members = [uuid.UUID(str(r["id"])) for r in rows]
    lunar = await fetch(
        base + " AND m.birthday IS NOT NULL AND m.birthday_calendar = 'lunar'" + fresh,
        program.id,
        template["id"],
        occasion,
    )
    for row in lunar:
        day = birthday_in_year(date_of(row["birthday"]), "lunar", today.year)
        if day == today or (month_window and day.month == today.month):
            members.append(uuid.UUID(str(row["id"])))
    return members


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@use_case
async def _grant(
    program: ProgramConfig, template: dict[str, Any], members: list[uuid.UUID], occasion: str, now: dt.datetime
) -> int:
    issued, _ = await issue_rows(program, template, members, occasion, "job:grant-birthday-coupons", now)
    return len(issued)


async def grant_birthday_coupons(now: dt.datetime, progress: Progress) -> JobResult:
    """Issue each active birthday template to the members whose birthday it is (see
    :func:`birthday_members`), once per member, template and year (occasion ``birthday:YEAR``),
    one committed chunk of members at a time."""
    work: list[tuple[ProgramConfig, dict[str, Any], list[uuid.UUID], str]] = []
    for program in await list_programs():
        templates = await fetch(
            "SELECT * FROM coupon_template WHERE program_id = {} AND active = {} AND issue_on = 'birthday'"
            " ORDER BY code",
            program.id,
            True,
        )
        today = local_today(program, now)
        for template in templates:
            if ended(template, program, now):
                continue
            members = await birthday_members(program, template, today)
            if members:
                work.append((program, template, members, occasion_for("birthday", year=today.year)))
    total, done, issued = sum(len(m) for _, _, m, _ in work), 0, 0
    progress(0, total)
    pace = Pace(BIRTHDAY_CHUNK)
    for program, template, members, occasion in work:
        for chunk in chunks(members, BIRTHDAY_CHUNK):
            issued += await _grant(program, template, chunk, occasion, now)
            done += len(chunk)
            progress(done, total)
            await pace.rest()
    return JobResult(issued, f"发放生日券 {issued} 张 / birthday coupons issued: {issued}")


class ExpireCoupons(Job):
    name = "expire-coupons"
    description = "Mark unused coupons past their last day as expired (优惠券过期)"
    schedule = "5 0 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await expire_coupons(now, progress)


class GrantBirthdayCoupons(Job):
    name = "grant-birthday-coupons"
    description = "Issue birthday coupons to members whose (solar or lunar) birthday it is (生日券)"
    schedule = "15 0 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await grant_birthday_coupons(now, progress)
