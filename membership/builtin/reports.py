"""Built-in reports: member summary, points liability, sales by month (set-based SQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.analytics.interface import Report, ReportResult
from membership.db import fetch, fetch_one
from membership.db.dialect import local_month
from membership.hookspecs import hookimpl
from membership.org.service import get_program


class MembersSummary(Report):
    name = "members_summary"
    title_zh, title_en = "会员概况", "Members summary"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=int(params.get("days", 30)))
        row = await fetch_one(
            "SELECT COUNT(*) AS members,"
            " COALESCE(SUM(CASE WHEN created_at >= {} THEN 1 ELSE 0 END), 0) AS new_members,"
            " COALESCE(SUM(CASE WHEN id IN (SELECT member_id FROM sale WHERE program_id = {} AND occurred_at >= {})"
            " THEN 1 ELSE 0 END), 0) AS active_members"
            " FROM member WHERE program_id = {} AND status = 'active'",
            since,
            program_id,
            since,
            program_id,
        )
        columns = ["members", "new_members", "active_members"]
        return ReportResult(columns, [[int(row[c]) for c in columns]])


class PointsLiability(Report):
    name = "points_liability"
    title_zh, title_en = "积分负债", "Points liability"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        rows = await fetch(
            "SELECT kind, CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM ledger_account"
            " WHERE program_id = {} AND member_id IS NOT NULL GROUP BY kind ORDER BY kind",
            program_id,
        )
        return ReportResult(["account", "total"], [[r["kind"], int(r["total"])] for r in rows])


class SalesByMonth(Report):
    name = "sales_by_month"
    title_zh, title_en = "月度销售", "Sales by month"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        program = await get_program(program_id)
        month = local_month("occurred_at", program.time_zone)
        sales = await fetch(
            f"SELECT {month} AS month, COUNT(*) AS sales, CAST(SUM(total) AS BIGINT) AS revenue,"
            " CAST(SUM(points_earned) AS BIGINT) AS points"
            f" FROM sale WHERE program_id = {{}} GROUP BY {month} ORDER BY month",
            program_id,
        )
        return ReportResult(
            ["month", "sales", "revenue", "points"],
            [[r["month"], int(r["sales"]), int(r["revenue"]), int(r["points"])] for r in sales],
        )


@hookimpl(trylast=True)
def membership_register_reports() -> list[type[Report]]:
    """``members_summary``, ``points_liability``, ``sales_by_month``."""
    return [MembersSummary, PointsLiability, SalesByMonth]
