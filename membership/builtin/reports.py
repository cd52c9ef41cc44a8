"""Built-in reports (set-based SQL): member summary, the dashboard's figures, points liability,
sales by month, tier distribution, new and returning buyers by month, settlement between stores."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.analytics.interface import Report, ReportResult
from membership.db import fetch, fetch_one
from membership.db.dialect import local_month
from membership.hookspecs import hookimpl
from membership.ledger import settlement
from membership.org.service import ProgramConfig, get_program


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


def _month_start(program: ProgramConfig, months_back: int = 0) -> dt.datetime:
    """The UTC moment the local month ``months_back`` months before this one began."""
    today = dt.datetime.now(program.zone).date()
    index = today.year * 12 + today.month - 1 - months_back
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=program.zone).astimezone(dt.UTC)


def _since(program: ProgramConfig, params: dict[str, Any]) -> dt.datetime:
    """Start of the ``months`` param's window (whole local months, this one included); all time
    when it is absent."""
    months = int(params.get("months", 0))
    return _month_start(program, months - 1) if months > 0 else dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


class DashboardFigures(Report):
    name = "dashboard_figures"
    title_zh, title_en = "经营概况", "Business at a glance"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Members, new this month, active and repeat buyers over ``days`` (default 30), and this
        month's sales; the repeat-purchase rate is ``repeat_buyers / active_members``."""
        program = await get_program(program_id)
        month_start = _month_start(program)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=int(params.get("days", 30)))
        row = await fetch_one(
            "SELECT (SELECT COUNT(*) FROM member WHERE program_id = {} AND status = 'active') AS members,"
            " (SELECT COUNT(*) FROM member WHERE program_id = {} AND status = 'active' AND created_at >= {})"
            " AS new_this_month,"
            " (SELECT COUNT(*) FROM (SELECT member_id FROM sale WHERE program_id = {} AND occurred_at >= {}"
            " GROUP BY member_id) AS b) AS active_members,"
            " (SELECT COUNT(*) FROM (SELECT member_id FROM sale WHERE program_id = {} AND occurred_at >= {}"
            " GROUP BY member_id HAVING COUNT(*) >= 2) AS r) AS repeat_buyers,"
            " (SELECT COUNT(*) FROM sale WHERE program_id = {} AND occurred_at >= {}) AS sales_this_month,"
            " (SELECT CAST(COALESCE(SUM(total - refunded_amount), 0) AS BIGINT) FROM sale"
            " WHERE program_id = {} AND occurred_at >= {}) AS revenue_this_month",
            program_id,
            program_id,
            month_start,
            program_id,
            since,
            program_id,
            since,
            program_id,
            month_start,
            program_id,
            month_start,
        )
        columns = [
            "members",
            "new_this_month",
            "active_members",
            "repeat_buyers",
            "sales_this_month",
            "revenue_this_month",
        ]
        return ReportResult(columns, [[int(row[c]) for c in columns]])


class SalesByMonth(Report):
    name = "sales_by_month"
    title_zh, title_en = "月度销售", "Sales by month"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Sales, revenue (net of refunds) and points earned per local month; ``months`` limits
        it to the last months."""
        program = await get_program(program_id)
        month = local_month("occurred_at", program.time_zone)
        sales = await fetch(
            f"SELECT {month} AS month, COUNT(*) AS sales, CAST(SUM(total - refunded_amount) AS BIGINT) AS revenue,"
            " CAST(SUM(points_earned) AS BIGINT) AS points"
            f" FROM sale WHERE program_id = {{}} AND occurred_at >= {{}} GROUP BY {month} ORDER BY month",
            program_id,
            _since(program, params),
        )
        return ReportResult(
            ["month", "sales", "revenue", "points"],
            [[r["month"], int(r["sales"]), int(r["revenue"]), int(r["points"])] for r in sales],
        )


class TierDistribution(Report):
    name = "tier_distribution"
    title_zh, title_en = "等级分布", "Tier distribution"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Active members per tier (no tier counted as ``""``), in the program's tier order."""
        program = await get_program(program_id)
        rows = await fetch(
            "SELECT COALESCE(tier, '') AS tier, COUNT(*) AS members FROM member"
            " WHERE program_id = {} AND status = 'active' GROUP BY COALESCE(tier, '')",
            program_id,
        )
        order = {t["code"]: i for i, t in enumerate(sorted(program.settings.get("tiers", []), key=_threshold))}
        rows.sort(key=lambda r: order.get(r["tier"], -1 if r["tier"] == "" else len(order)))
        return ReportResult(["tier", "members"], [[r["tier"], int(r["members"])] for r in rows])


def _threshold(tier: dict[str, Any]) -> int:
    return int(tier.get("min_growth", 0))


class NewVsReturning(Report):
    name = "new_vs_returning"
    title_zh, title_en = "新老顾客", "New and returning buyers"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Per local month, members buying for the first time ever and members who had bought
        before; ``months`` limits it to the last months."""
        program = await get_program(program_id)
        month, first_month = (local_month(c, program.time_zone) for c in ("occurred_at", "first_at"))
        rows = await fetch(
            "SELECT b.month, CAST(SUM(CASE WHEN b.month = f.first_month THEN 1 ELSE 0 END) AS BIGINT) AS new_buyers,"
            " CAST(SUM(CASE WHEN b.month = f.first_month THEN 0 ELSE 1 END) AS BIGINT) AS returning_buyers"
            f" FROM (SELECT DISTINCT member_id, {month} AS month FROM sale"
            " WHERE program_id = {} AND occurred_at >= {}) AS b"
            f" JOIN (SELECT member_id, {first_month} AS first_month FROM (SELECT member_id,"
            " MIN(occurred_at) AS first_at FROM sale WHERE program_id = {} GROUP BY member_id) AS m) AS f"
            " ON f.member_id = b.member_id GROUP BY b.month ORDER BY b.month",
            program_id,
            _since(program, params),
            program_id,
        )
        return ReportResult(
            ["month", "new_buyers", "returning_buyers"],
            [[r["month"], int(r["new_buyers"]), int(r["returning_buyers"])] for r in rows],
        )


class Settlement(Report):
    name = "settlement"
    title_zh, title_en = "门店清算", "Settlement between stores"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """What each issuing store owes each store where its points or stored value were spent
        (:func:`membership.ledger.settlement.report`), over the last ``months`` local months, this
        one included (all time without it); then the total value (minor units)."""
        program = await get_program(program_id)
        start = _since(program, params).astimezone(program.zone).date()
        lines = await settlement.report(program, start, dt.datetime.now(program.zone).date())
        rows: list[list[Any]] = [[x.issuer_code, x.redeemer_code, x.kind, x.units, x.value] for x in lines]
        rows.append(["TOTAL", "", "", "", sum(x.value for x in lines)])
        return ReportResult(["issuer_store", "redeemer_store", "kind", "units", "value"], rows)


@hookimpl(trylast=True)
def membership_register_reports() -> list[type[Report]]:
    """``members_summary``, ``dashboard_figures``, ``points_liability``, ``sales_by_month``,
    ``tier_distribution``, ``new_vs_returning``, ``settlement``."""
    return [
        MembersSummary,
        DashboardFigures,
        PointsLiability,
        SalesByMonth,
        TierDistribution,
        NewVsReturning,
        Settlement,
    ]
