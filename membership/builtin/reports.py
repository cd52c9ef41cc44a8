"""Built-in reports (set-based SQL): member summary, the dashboard's figures (over a period and a
store), points and gift card liability, sales by month and by store, tier distribution, new and returning buyers
by month, settlement between stores. Periods and stores are read by
:mod:`membership.analytics.filters`; each report says what its columns hold (``headings``), so
the console writes amounts in yuan and totals only what adds up."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.analytics.columns import ACCOUNTS
from membership.analytics.filters import month_start, period, store_of
from membership.analytics.interface import Report, ReportColumn, ReportResult
from membership.db import fetch, fetch_one
from membership.db.dialect import local_month
from membership.giftcards import service as giftcards
from membership.hookspecs import hookimpl
from membership.ledger import settlement
from membership.org.service import ProgramConfig, get_program
from membership.tiers.policy import tier_config


class MembersSummary(Report):
    name = "members_summary"
    title_zh, title_en = "会员概况", "Members summary"
    headings = (
        ReportColumn("members", "会员数", "Members", "count"),
        ReportColumn("new_members", "近30天新会员", "New (30 days)", "count"),
        ReportColumn("active_members", "近30天消费会员", "Buying (30 days)", "count"),
    )

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


MONEY_ACCOUNTS = ("stored_value", "stored_value_bonus")


class PointsLiability(Report):
    name = "points_liability"
    title_zh, title_en = "积分负债", "Points liability"
    headings = (
        ReportColumn("account", "账户", "Account", values=ACCOUNTS),
        ReportColumn("points", "积分、成长值余额", "Points or growth held", "count"),
        ReportColumn("amount", "储值余额", "Stored value held", "money", total=True),
    )

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """What members hold, per account kind: points-like balances under ``points``, stored value
        (owed to members) under ``amount``; never one column for both."""
        rows = await fetch(
            "SELECT kind, CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM ledger_account"
            " WHERE program_id = {} AND member_id IS NOT NULL GROUP BY kind ORDER BY kind",
            program_id,
        )
        return ReportResult(
            ["account", "points", "amount"],
            [
                [r["kind"], None, int(r["total"])]
                if r["kind"] in MONEY_ACCOUNTS
                else [r["kind"], int(r["total"]), None]
                for r in rows
            ],
        )


class GiftCardLiability(Report):
    name = "gift_card_liability"
    title_zh, title_en = "礼品卡负债", "Gift card liability"
    headings = (
        ReportColumn("cards", "售出张数", "Cards sold", "count"),
        ReportColumn("sold", "售卡金额（扣除作废）", "Sold (less voided)", "money"),
        ReportColumn("spent", "已消费金额（扣除退回）", "Spent (less refunded)", "money"),
        ReportColumn("outstanding", "卡内余额", "Held on the cards", "money"),
    )

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """What the program's gift cards were sold for, spent and still hold
        (:func:`membership.giftcards.service.liability`): owed to card holders, kept apart from
        members' stored value."""
        found = await giftcards.liability(program_id)
        return ReportResult(
            ["cards", "sold", "spent", "outstanding"], [[found.cards, found.sold, found.spent, found.outstanding]]
        )


def _since(program: ProgramConfig, params: dict[str, Any]) -> dt.datetime:
    """Start of the ``months`` param's window (whole local months, this one included); all time
    when it is absent."""
    return period(program, {"months": params.get("months", 0)}).since


class DashboardFigures(Report):
    name = "dashboard_figures"
    title_zh, title_en = "经营概况", "Business at a glance"
    headings = (
        ReportColumn("members", "会员数", "Members", "count"),
        ReportColumn("new_this_month", "本月新会员", "New this month", "count"),
        ReportColumn("active_members", "近30天消费会员", "Buying members (30 days)", "count"),
        ReportColumn("repeat_buyers", "近30天复购会员", "Repeat buyers (30 days)", "count"),
        ReportColumn("sales_this_month", "本月消费笔数", "Sales this month", "count"),
        ReportColumn("revenue_this_month", "本月销售额", "Revenue this month", "money"),
    )

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Members, new this month, active and repeat buyers over ``days`` (default 30), and this
        month's sales; the repeat-purchase rate is ``repeat_buyers / active_members``."""
        program = await get_program(program_id)
        month_start_at = month_start(program)
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
            month_start_at,
            program_id,
            since,
            program_id,
            since,
            program_id,
            month_start_at,
            program_id,
            month_start_at,
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


def _store_filter(params: dict[str, Any], column: str = "store_id") -> tuple[str, list[Any]]:
    """SQL limiting sales to the store ``params`` name (" AND store_id = {}"), and its argument."""
    store = store_of(params)
    return (f" AND {column} = {{}}", [store]) if store else ("", [])


class PeriodFigures(Report):
    name = "period_figures"
    title_zh, title_en = "经营概况（按期间）", "Business over a period"
    filters = ("dates", "store")
    headings = (
        ReportColumn("members", "会员总数", "Members", "count"),
        ReportColumn("new_members", "新会员", "New members", "count"),
        ReportColumn("active_members", "消费会员", "Buying members", "count"),
        ReportColumn("repeat_buyers", "复购会员", "Repeat buyers", "count"),
        ReportColumn("sales", "消费笔数", "Sales", "count"),
        ReportColumn("revenue", "销售额", "Revenue", "money"),
        ReportColumn("avg_ticket", "客单价", "Average ticket", "money"),
        ReportColumn("points_earned", "发放积分", "Points earned", "points"),
    )

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Over the period (``start``..``end``) and, with ``store_id``, at one store: members
        (enrolled there, for a store), new members, members who bought, those who bought twice or
        more, sales, revenue net of refunds, the average ticket (revenue ÷ sales, rounded down)
        and points earned."""
        program = await get_program(program_id)
        span = period(program, params)
        store = store_of(params)
        enrolled, enrolled_args = (" AND created_store_id = {}", [store]) if store else ("", [])
        sold, sold_args = _store_filter(params)
        row = await fetch_one(
            "SELECT (SELECT COUNT(*) FROM member WHERE program_id = {} AND status = 'active'"
            f"{enrolled}) AS members,"
            " (SELECT COUNT(*) FROM member WHERE program_id = {} AND status = 'active'"
            f" AND created_at >= {{}} AND created_at < {{}}{enrolled}) AS new_members,"
            " (SELECT COUNT(*) FROM (SELECT member_id FROM sale WHERE program_id = {}"
            f" AND occurred_at >= {{}} AND occurred_at < {{}}{sold} GROUP BY member_id) AS b) AS active_members,"
            " (SELECT COUNT(*) FROM (SELECT member_id FROM sale WHERE program_id = {}"
            f" AND occurred_at >= {{}} AND occurred_at < {{}}{sold} GROUP BY member_id HAVING COUNT(*) >= 2) AS r)"
            " AS repeat_buyers,"
            " (SELECT COUNT(*) FROM sale WHERE program_id = {}"
            f" AND occurred_at >= {{}} AND occurred_at < {{}}{sold}) AS sales,"
            " (SELECT CAST(COALESCE(SUM(total - refunded_amount), 0) AS BIGINT) FROM sale WHERE program_id = {}"
            f" AND occurred_at >= {{}} AND occurred_at < {{}}{sold}) AS revenue,"
            " (SELECT CAST(COALESCE(SUM(points_earned), 0) AS BIGINT) FROM sale WHERE program_id = {}"
            f" AND occurred_at >= {{}} AND occurred_at < {{}}{sold}) AS points_earned",
            program_id,
            *enrolled_args,
            program_id,
            span.since,
            span.until,
            *enrolled_args,
            *[arg for _ in range(5) for arg in (program_id, span.since, span.until, *sold_args)],
        )
        sales, revenue = int(row["sales"]), int(row["revenue"])
        values = [int(row[c]) for c in ("members", "new_members", "active_members", "repeat_buyers")]
        return ReportResult(
            [column.key for column in self.headings],
            [[*values, sales, revenue, revenue // sales if sales else 0, int(row["points_earned"])]],
        )


class SalesByMonth(Report):
    name = "sales_by_month"
    title_zh, title_en = "月度销售", "Sales by month"
    filters = ("dates", "store")
    headings = (ReportColumn("points", "发放积分", "Points earned", "points", True),)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Sales, revenue (net of refunds) and points earned per local month, over the period
        (``start``..``end``, or the last ``months``) and at the store ``store_id`` names."""
        program = await get_program(program_id)
        span = period(program, params)
        store, store_args = _store_filter(params)
        month = local_month("occurred_at", program.time_zone)
        sales = await fetch(
            f"SELECT {month} AS month, COUNT(*) AS sales, CAST(SUM(total - refunded_amount) AS BIGINT) AS revenue,"
            " CAST(SUM(points_earned) AS BIGINT) AS points FROM sale"
            f" WHERE program_id = {{}} AND occurred_at >= {{}} AND occurred_at < {{}}{store}"
            f" GROUP BY {month} ORDER BY month",
            program_id,
            span.since,
            span.until,
            *store_args,
        )
        return ReportResult(
            ["month", "sales", "revenue", "points"],
            [[r["month"], int(r["sales"]), int(r["revenue"]), int(r["points"])] for r in sales],
        )


class SalesByStore(Report):
    name = "sales_by_store"
    title_zh, title_en = "门店销售", "Sales by store"
    filters = ("dates",)
    headings = (ReportColumn("members", "消费会员", "Buying members", "count"),)  # one may buy at two stores

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Per store over the period: sales, members who bought, revenue net of refunds, the
        average ticket (revenue ÷ sales, rounded down) and points earned."""
        program = await get_program(program_id)
        span = period(program, params)
        rows = await fetch(
            "SELECT st.code, st.name, COUNT(*) AS sales, COUNT(DISTINCT s.member_id) AS members,"
            " CAST(SUM(s.total - s.refunded_amount) AS BIGINT) AS revenue,"
            " CAST(SUM(s.points_earned) AS BIGINT) AS points FROM sale s JOIN store st ON st.id = s.store_id"
            " WHERE s.program_id = {} AND s.occurred_at >= {} AND s.occurred_at < {}"
            " GROUP BY st.code, st.name ORDER BY st.code",
            program_id,
            span.since,
            span.until,
        )
        out = []
        for r in rows:
            sales, revenue = int(r["sales"]), int(r["revenue"])
            out.append([r["code"], r["name"], sales, int(r["members"]), revenue, revenue // sales, int(r["points"])])
        return ReportResult(["store", "store_name", "sales", "members", "revenue", "avg_ticket", "points_earned"], out)


class TierDistribution(Report):
    name = "tier_distribution"
    title_zh, title_en = "等级分布", "Tier distribution"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Active members per tier (no tier counted as ``""``), lowest tier first."""
        program = await get_program(program_id)
        rows = await fetch(
            "SELECT COALESCE(tier, '') AS tier, COUNT(*) AS members FROM member"
            " WHERE program_id = {} AND status = 'active' GROUP BY COALESCE(tier, '')",
            program_id,
        )
        order = {tier.code: i for i, tier in enumerate(tier_config(program.settings).tiers)}
        rows.sort(key=lambda r: order.get(r["tier"], -1 if r["tier"] == "" else len(order)))
        return ReportResult(["tier", "members"], [[r["tier"], int(r["members"])] for r in rows])


class NewVsReturning(Report):
    name = "new_vs_returning"
    title_zh, title_en = "新老顾客", "New and returning buyers"
    filters = ("dates", "store")

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Per local month of the period, members buying for the first time ever and members who
        had bought before (at the store ``store_id`` names: buying there for the first time)."""
        program = await get_program(program_id)
        span = period(program, params)
        store, store_args = _store_filter(params)
        month, first_month = (local_month(c, program.time_zone) for c in ("occurred_at", "first_at"))
        rows = await fetch(
            "SELECT b.month, CAST(SUM(CASE WHEN b.month = f.first_month THEN 1 ELSE 0 END) AS BIGINT) AS new_buyers,"
            " CAST(SUM(CASE WHEN b.month = f.first_month THEN 0 ELSE 1 END) AS BIGINT) AS returning_buyers"
            f" FROM (SELECT DISTINCT member_id, {month} AS month FROM sale"
            f" WHERE program_id = {{}} AND occurred_at >= {{}} AND occurred_at < {{}}{store}) AS b"
            f" JOIN (SELECT member_id, {first_month} AS first_month FROM (SELECT member_id,"
            f" MIN(occurred_at) AS first_at FROM sale WHERE program_id = {{}}{store} GROUP BY member_id) AS m) AS f"
            " ON f.member_id = b.member_id GROUP BY b.month ORDER BY b.month",
            program_id,
            span.since,
            span.until,
            *store_args,
            program_id,
            *store_args,
        )
        return ReportResult(
            ["month", "new_buyers", "returning_buyers"],
            [[r["month"], int(r["new_buyers"]), int(r["returning_buyers"])] for r in rows],
        )


class Settlement(Report):
    name = "settlement"
    title_zh, title_en = "门店清算", "Settlement between stores"
    filters = ("dates", "store")
    headings = (ReportColumn("points", "积分数", "Points", "points", True),)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """What each issuing store owes each store where its points or stored value were spent
        (:func:`membership.ledger.settlement.report`), over the period (all time without one) and,
        with ``store_id``, the pairs that store is in: the points spent (points rows only) and
        the value owed (minor units)."""
        program = await get_program(program_id)
        start, end = period(program, params).local_dates(program)
        store = store_of(params)
        lines = await settlement.report(program, start, end)
        rows: list[list[Any]] = [
            [x.issuer_code, x.redeemer_code, x.kind, x.units if x.kind == "points" else None, x.value]
            for x in lines
            if store is None or store in (x.issuer_store_id, x.redeemer_store_id)
        ]
        return ReportResult(["issuer_store", "redeemer_store", "kind", "points", "value"], rows)


@hookimpl(trylast=True)
def membership_register_reports() -> list[type[Report]]:
    """``members_summary``, ``dashboard_figures``, ``period_figures``, ``points_liability``,
    ``gift_card_liability``, ``sales_by_month``, ``sales_by_store``, ``tier_distribution``, ``new_vs_returning``,
    ``settlement``."""
    return [
        MembersSummary,
        DashboardFigures,
        PeriodFigures,
        PointsLiability,
        GiftCardLiability,
        SalesByMonth,
        SalesByStore,
        TierDistribution,
        NewVsReturning,
        Settlement,
    ]
