"""The CRM's reports through the analytics hook: segment sizes over time (from the daily
``segment_size`` snapshots the ``record-segment-sizes`` job takes) and campaign conversion
(members served and held back, messages sent, purchases within the conversion window and their
revenue, per campaign). Counted in SQL; rates from exact integers, one decimal."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from membership.analytics.filters import period
from membership.analytics.interface import Report, ReportColumn, ReportResult
from membership.crm.segments import segment_where
from membership.db import fetch, is_sqlite, use_case
from membership.db.sql import json_column
from membership.jobs.interface import Job, JobResult, Progress
from membership.org.service import ProgramConfig, get_program, list_programs


def _date(value: dt.date) -> Any:
    return value.isoformat() if is_sqlite() else value


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def rate(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal rounded half up (None when ``whole`` is 0)."""
    if not whole:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


@use_case
async def record_program_sizes(program: ProgramConfig, now: dt.datetime) -> int:
    """Each active segment's size as of ``now`` on its local day (one ``INSERT … SELECT COUNT``
    a segment; a second run the same day keeps the later count). Returns the segments counted."""
    day = now.astimezone(program.zone).date()
    found = await fetch("SELECT id, code FROM segment WHERE program_id = {} AND active = {}", program.id, True)
    for row in found:
        where, args = await segment_where(program, row["code"], now)
        await fetch(
            f"INSERT INTO segment_size (segment_id, program_id, day, members)"
            f" SELECT {{}}, {{}}, {{}}, COUNT(*) FROM member m WHERE {where}"
            " ON CONFLICT (segment_id, day, program_id) DO UPDATE SET members = excluded.members",
            row["id"],
            program.id,
            _date(day),
            *args,
        )
    return len(found)


class RecordSegmentSizes(Job):
    """As of T: every active segment's size on T's local day, for the segment sizes report."""

    name = "record-segment-sizes"
    description = "Each segment's size of the day, for the segment sizes report (人群规模快照)"
    schedule = "50 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        counted = 0
        for program in await list_programs():
            counted += await record_program_sizes(program, now)
            progress(counted, counted)
        return JobResult(counted, f"记录 {counted} 个人群的规模 / {counted} segment sizes recorded")


class SegmentSizes(Report):
    """Per local day and segment: its active members that day (as the nightly snapshot counted
    them), days oldest first."""

    name = "segment_sizes"
    title_zh, title_en = "人群规模趋势", "Segment sizes over time"
    headings = (
        ReportColumn("day", "日期", "Day", "date"),
        ReportColumn("segment", "人群", "Segment"),
        ReportColumn("members", "会员数", "Members", "count"),
    )
    filters = ("dates",)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Snapshots within the period's local dates."""
        program = await get_program(program_id)
        first, last = period(program, params).local_dates(program)
        rows = await fetch(
            "SELECT z.day, s.name, z.members FROM segment_size z JOIN segment s ON s.program_id = z.program_id AND"
            " s.id = z.segment_id"
            " WHERE z.program_id = {} AND z.day >= {} AND z.day <= {} ORDER BY z.day, s.code",
            program_id,
            _date(first),
            _date(last),
        )
        return ReportResult(
            [c.key for c in self.headings], [[_day(r["day"]), r["name"], int(r["members"])] for r in rows]
        )


class CampaignConversion(Report):
    """Per campaign (members served within the period): the audience (target and control
    group), messages sent (the provider took them), members of each group who bought within the
    conversion window, their revenue (net of refunds), and both conversion rates."""

    name = "campaign_conversion"
    title_zh, title_en = "营销活动转化", "Campaign conversion"
    headings = (
        ReportColumn("campaign", "营销活动", "Campaign"),
        ReportColumn("audience", "覆盖会员", "Audience", "count", total=True),
        ReportColumn("sent", "消息发送", "Messages sent", "count", total=True),
        ReportColumn("targets", "目标组", "Target group", "count", total=True),
        ReportColumn("converted", "转化会员", "Converted", "count", total=True),
        ReportColumn("conversion", "转化率", "Conversion rate", "percent"),
        ReportColumn("revenue", "转化消费额", "Revenue", "money", total=True),
        ReportColumn("controls", "对照组", "Control group", "count", total=True),
        ReportColumn("control_converted", "对照组转化", "Control converted", "count", total=True),
        ReportColumn("control_conversion", "对照组转化率", "Control conversion rate", "percent"),
        ReportColumn("control_revenue", "对照组消费额", "Control revenue", "money", total=True),
    )
    filters = ("dates",)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Campaigns by code; members counted once per campaign and group."""
        program = await get_program(program_id)
        chosen = period(program, params)
        groups = await fetch(
            "SELECT c.code, cm.grp, COUNT(DISTINCT cm.member_id) AS members,"
            " COUNT(DISTINCT s.member_id) AS converted,"
            " CAST(COALESCE(SUM(s.total - s.refunded_amount), 0) AS BIGINT) AS revenue"
            " FROM campaign c JOIN campaign_member cm ON cm.campaign_id = c.id"
            " LEFT JOIN sale s ON s.member_id = cm.member_id AND s.program_id = c.program_id"
            " AND s.occurred_at > cm.targeted_at AND s.occurred_at <= cm.converts_until AND s.status <> 'refunded'"
            " WHERE c.program_id = {} AND cm.targeted_at >= {} AND cm.targeted_at < {}"
            " GROUP BY c.code, cm.grp",
            program_id,
            chosen.since,
            chosen.until,
        )
        sent = await fetch(
            "SELECT n.cause, COUNT(*) AS n FROM notification n WHERE n.program_id = {} AND n.state = 'sent'"
            " AND n.cause LIKE 'campaign:%' AND n.created_at >= {} AND n.created_at < {} GROUP BY n.cause",
            program_id,
            chosen.since,
            chosen.until,
        )
        names = {
            r["code"]: r["terms"]
            for r in await fetch("SELECT code, terms FROM campaign WHERE program_id = {}", program_id)
        }
        figures: dict[str, dict[str, Any]] = {}
        for row in groups:
            found = figures.setdefault(row["code"], {})
            found[row["grp"]] = (int(row["members"]), int(row["converted"]), int(row["revenue"]))
        sent_by = {r["cause"].removeprefix("campaign:"): int(r["n"]) for r in sent}
        rows = []
        for code in sorted(figures):
            target = figures[code].get("target", (0, 0, 0))
            control = figures[code].get("control", (0, 0, 0))
            rows.append(
                [
                    _name(names.get(code), code),
                    target[0] + control[0],
                    sent_by.get(code, 0),
                    target[0],
                    target[1],
                    rate(target[1], target[0]),
                    target[2],
                    control[0],
                    control[1],
                    rate(control[1], control[0]),
                    control[2],
                ]
            )
        return ReportResult([c.key for c in self.headings], rows)


def _name(terms: Any, code: str) -> str:
    """The campaign's name as staff gave it (its code if the terms cannot be read)."""
    try:
        return str(json_column(terms)["name"])
    except (KeyError, TypeError, ValueError):
        return code
