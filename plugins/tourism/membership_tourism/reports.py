"""Tourism reports (文旅报表), set-based SQL in the database over the pack's entries and the
kernel's sales and paid memberships:

* ``tourism_revisits`` 重游率 — of the people let in, the share who came on two days or more (by
  month, by pass plan, or over the whole period), and those who had come in an earlier month;
* ``tourism_secondary`` 二次消费率 — of the visits (a person let in on a day), the share with a
  purchase at a venue other than the ticket office on that same local day, and what was spent (by
  month, or by the venue's business format);
* ``tourism_entries`` 入园统计 — entries let in and tries refused by hour of the day, by gate, or by
  day and gate;
* ``tourism_renewals`` 年卡续卡 — passes sold per month, new and renewed, their revenue, the passes
  that ended that month and the share renewed within the settings' ``renewal_window_days``;
* ``tourism_cross_venue`` 跨业态消费 — per venue: purchases, members, spend, members who also bought
  at another venue, points earned and redeemed there (points earned at one venue are spent at
  another: the kernel keeps one account per member).

Parameters: ``months`` (whole local months back, this one included; 0 or none: all time) and
``by``. Members are counted, never named. They are registered through the analytics hook (the
console's report pages list them), drawn on the pack's page 文旅报表, and served by
``GET /api/v1/tourism/programs/{id}/reports/{name}``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from membership.plugin import (
    ProgramConfig,
    Reason,
    Report,
    ReportResult,
    ValidationError,
    fetch,
    get_program,
    plugin_enabled,
)
from membership_tourism.dialect import before_days_after, local_month
from membership_tourism.errors import TourismOff, TourismReportNotFound
from membership_tourism.settings import NAME, settings_of

YES = True


def _param(params: dict[str, Any], name: str, default: int, high: int) -> int:
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= high:
        raise ValidationError(field=name, reason=Reason(f"a whole number from 0 to {high}", f"0 到 {high} 的整数"))
    return number


def _by(params: dict[str, Any], allowed: tuple[str, ...]) -> str:
    by = str(params.get("by") or allowed[0])
    if by not in allowed:
        raise ValidationError(field="by", reason=Reason(f"one of {', '.join(allowed)}", f"只能是 {'、'.join(allowed)}"))
    return by


def since(program: ProgramConfig, months: int) -> dt.datetime:
    """The UTC moment the local month ``months - 1`` months before this one began (0: all time)."""
    if months <= 0:
        return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    today = dt.datetime.now(program.zone).date()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=program.zone).astimezone(dt.UTC)


def rate(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, one decimal (0 for nothing)."""
    return round(100 * part / whole, 1) if whole else 0.0


class TourismReport(Report):
    """A tourism report: refused for a program the pack is off for."""

    by: ClassVar[tuple[str, ...]] = ("month",)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """The report for the program, as its parameters ask."""
        program = await get_program(program_id)
        if not plugin_enabled(program, NAME):
            raise TourismOff()
        months = _param(params, "months", 0, 600)
        start = since(program, months)
        first_day = start.astimezone(program.zone).date().isoformat()
        return await self.query(program, start, first_day, _by(params, self.by))

    async def query(
        self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str
    ) -> ReportResult:  # pragma: no cover - each report answers
        raise NotImplementedError


_VISITS = (
    "SELECT DISTINCT member_id, day, day_start, day_end FROM tourism_entry"
    " WHERE program_id = {} AND allowed = {} AND member_id IS NOT NULL AND day >= {}"
)


class Revisits(TourismReport):
    """重游率: people let in, their visit days, those who came on two days or more (the revisit
    rate in percent) and, by month, those who had come in an earlier month."""

    name = "tourism_revisits"
    title_zh, title_en = "重游率", "Revisit rate"
    by = ("month", "plan", "total")

    async def query(self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str) -> ReportResult:
        if by == "month":
            rows = await fetch(
                "WITH visits AS (" + _VISITS + "), per AS (SELECT SUBSTR(day, 1, 7) AS month, member_id,"
                " COUNT(*) AS n, MIN(day) AS first_day FROM visits GROUP BY SUBSTR(day, 1, 7), member_id)"
                " SELECT month, COUNT(*) AS visitors, SUM(n) AS visit_days,"
                " SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS repeat_visitors,"
                " SUM(CASE WHEN EXISTS (SELECT 1 FROM tourism_entry e WHERE e.program_id = {}"
                " AND e.member_id = per.member_id AND e.allowed = {} AND e.day < per.first_day) THEN 1 ELSE 0 END)"
                " AS returning_visitors FROM per GROUP BY month ORDER BY month",
                program.id,
                YES,
                first_day,
                program.id,
                YES,
            )
            columns = ["month", "visitors", "visit_days", "repeat_visitors", "revisit_rate", "returning_visitors"]
            return ReportResult(
                columns,
                [
                    [
                        r["month"],
                        int(r["visitors"]),
                        int(r["visit_days"]),
                        int(r["repeat_visitors"]),
                        rate(int(r["repeat_visitors"]), int(r["visitors"])),
                        int(r["returning_visitors"]),
                    ]
                    for r in rows
                ],
            )
        if by == "plan":
            key, group, join = (
                "s.plan_code",
                "s.plan_code, e.member_id",
                " JOIN tourism_pass s ON s.program_id = e.program_id AND s.id = e.pass_id",
            )
        else:
            key, group, join = "'all'", "e.member_id", ""
        rows = await fetch(
            f"SELECT holder, COUNT(*) AS visitors, SUM(n) AS visit_days,"
            " SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS repeat_visitors FROM"
            f" (SELECT {key} AS holder, e.member_id, COUNT(DISTINCT e.day) AS n FROM tourism_entry e{join}"
            " WHERE e.program_id = {} AND e.allowed = {} AND e.member_id IS NOT NULL AND e.day >= {}"
            f" GROUP BY {group}) counted GROUP BY holder ORDER BY holder",
            program.id,
            YES,
            first_day,
        )
        columns = ["plan" if by == "plan" else "period", "visitors", "visit_days", "repeat_visitors", "revisit_rate"]
        out = []
        for r in rows:
            visitors, repeat = int(r["visitors"]), int(r["repeat_visitors"])
            out.append([r["holder"], visitors, int(r["visit_days"]), repeat, rate(repeat, visitors)])
        return ReportResult(columns, out)


_SPENT = (
    " FROM visits v JOIN sale s ON s.member_id = v.member_id AND s.occurred_at >= v.day_start"
    " AND s.occurred_at < v.day_end LEFT JOIN tourism_venue tv ON tv.program_id = s.program_id AND tv.store_id ="
    " s.store_id"
    " WHERE s.program_id = {} AND s.status <> 'refunded' AND (tv.format IS NULL OR tv.format <> 'tickets')"
)


class SecondarySpending(TourismReport):
    """二次消费率: visits (a person let in on a day) and those with a purchase at a venue other than
    the ticket office that day (stores not tagged as venues count as other venues): the rate in
    percent, the spend (net of refunds) and the spend per spending visit; by month or by format."""

    name = "tourism_secondary"
    title_zh, title_en = "二次消费率", "Secondary spending"
    by = ("month", "format")

    async def query(self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str) -> ReportResult:
        if by == "month":
            rows = await fetch(
                "WITH visits AS (" + _VISITS + "), spent AS (SELECT v.member_id, v.day,"
                " SUM(s.total - s.refunded_amount) AS spend" + _SPENT + " GROUP BY v.member_id, v.day)"
                " SELECT SUBSTR(v.day, 1, 7) AS month, COUNT(*) AS visits, COUNT(sp.member_id) AS spending_visits,"
                " COALESCE(SUM(sp.spend), 0) AS spend FROM visits v LEFT JOIN spent sp"
                " ON sp.member_id = v.member_id AND sp.day = v.day GROUP BY SUBSTR(v.day, 1, 7) ORDER BY month",
                program.id,
                YES,
                first_day,
                program.id,
            )
            keys = ["month"]
        else:
            rows = await fetch(
                "WITH visits AS (" + _VISITS + ") SELECT fmt AS format, (SELECT COUNT(*) FROM visits) AS visits,"
                " COUNT(*) AS spending_visits, SUM(spend) AS spend FROM (SELECT v.member_id, v.day,"
                " COALESCE(tv.format, 'other') AS fmt, SUM(s.total - s.refunded_amount) AS spend"
                + _SPENT
                + " GROUP BY v.member_id, v.day, COALESCE(tv.format, 'other')) counted GROUP BY fmt ORDER BY fmt",
                program.id,
                YES,
                first_day,
                program.id,
            )
            keys = ["format"]
        columns = [*keys, "visits", "spending_visits", "secondary_rate", "spend", "spend_per_visit"]
        out = []
        for r in rows:
            visits, spending, spend = int(r["visits"]), int(r["spending_visits"]), int(r["spend"] or 0)
            out.append(
                [r[k] for k in keys]
                + [visits, spending, rate(spending, visits), spend, spend // spending if spending else 0]
            )
        return ReportResult(columns, out)


class Entries(TourismReport):
    """入园统计: entries let in, tries refused and people let in, by hour of the day (all 24), by
    gate (with the days it was used), or by day and gate (newest day first)."""

    name = "tourism_entries"
    title_zh, title_en = "入园统计", "Entries"
    by = ("hour", "gate", "day")

    async def query(self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str) -> ReportResult:
        counted = (
            " SUM(CASE WHEN e.allowed = {} THEN 1 ELSE 0 END) AS entries,"
            " SUM(CASE WHEN e.allowed = {} THEN 0 ELSE 1 END) AS refused,"
            " COUNT(DISTINCT CASE WHEN e.allowed = {} THEN e.member_id END) AS visitors"
        )
        gated = (
            " FROM tourism_entry e JOIN tourism_gate g ON g.program_id = e.program_id AND g.id = e.gate_id"
            " WHERE e.program_id = {} AND e.day >= {}"
        )
        args = [YES, YES, YES, program.id, first_day]
        if by == "hour":
            rows = await fetch("SELECT e.hour," + counted + gated + " GROUP BY e.hour", *args)
            found = {int(r["hour"]): r for r in rows}
            out = []
            for hour in range(24):
                r = found.get(hour)
                out.append(
                    [hour, int(r["entries"]) if r else 0, int(r["refused"]) if r else 0, int(r["visitors"]) if r else 0]
                )
            return ReportResult(["hour", "entries", "refused", "visitors"], out)
        if by == "gate":
            rows = await fetch(
                "SELECT g.code AS gate, g.name AS gate_name, st.name AS store_name, COUNT(DISTINCT e.day) AS days,"
                + counted
                + gated.replace(" WHERE", " JOIN store st ON st.id = g.store_id WHERE")
                + " GROUP BY g.code, g.name, st.name ORDER BY g.code",
                *args,
            )
            columns = ["gate", "gate_name", "store_name", "days", "entries", "refused", "visitors", "entries_per_day"]
            return ReportResult(
                columns,
                [
                    [
                        r["gate"],
                        r["gate_name"],
                        r["store_name"],
                        int(r["days"]),
                        int(r["entries"]),
                        int(r["refused"]),
                        int(r["visitors"]),
                        round(int(r["entries"]) / int(r["days"]), 1) if int(r["days"]) else 0.0,
                    ]
                    for r in rows
                ],
            )
        rows = await fetch(
            "SELECT e.day, g.code AS gate, g.name AS gate_name,"
            + counted
            + gated
            + " GROUP BY e.day, g.code, g.name ORDER BY e.day DESC, g.code",
            *args,
        )
        return ReportResult(
            ["day", "gate", "gate_name", "entries", "refused", "visitors"],
            [
                [r["day"], r["gate"], r["gate_name"], int(r["entries"]), int(r["refused"]), int(r["visitors"])]
                for r in rows
            ],
        )


class Renewals(TourismReport):
    """年卡续卡: per local month, passes sold (new and renewals: the member had bought a pass
    before), their revenue net of refunds, the passes that ended that month and how many of those
    were renewed (bought again before the end, or within the settings' ``renewal_window_days``
    after it), with the renewal rate in percent."""

    name = "tourism_renewals"
    title_zh, title_en = "年卡续卡", "Pass renewals"

    async def query(self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str) -> ReportResult:
        codes = [
            r["plan_code"]
            for r in await fetch("SELECT plan_code FROM tourism_pass_plan WHERE program_id = {}", program.id)
        ]
        columns = ["month", "sold", "new_passes", "renewals", "revenue", "ended", "renewed", "renewal_rate"]
        if not codes:
            return ReportResult(columns, [])
        plans = ", ".join("{}" for _ in codes)
        sold = await fetch(
            f"SELECT {local_month('pm.created_at', program)} AS month, COUNT(*) AS sold,"
            " SUM(CASE WHEN EXISTS (SELECT 1 FROM paid_membership b WHERE b.program_id = pm.program_id"
            f" AND b.member_id = pm.member_id AND b.plan IN ({plans}) AND b.created_at < pm.created_at)"
            " THEN 1 ELSE 0 END) AS renewals, SUM(pm.fee - pm.refunded_amount) AS revenue"
            f" FROM paid_membership pm WHERE pm.program_id = {{}} AND pm.plan IN ({plans}) AND pm.created_at >= {{}}"
            " GROUP BY 1",
            *codes,
            program.id,
            *codes,
            start,
        )
        ended = await fetch(
            f"SELECT {local_month('x.ends_at', program)} AS month, COUNT(*) AS ended,"
            " SUM(CASE WHEN EXISTS (SELECT 1 FROM paid_membership y WHERE y.program_id = x.program_id"
            f" AND y.member_id = x.member_id AND y.plan IN ({plans}) AND y.created_at > x.created_at"
            f" AND {before_days_after('y.created_at', 'x.ends_at')}) THEN 1 ELSE 0 END) AS renewed"
            f" FROM paid_membership x WHERE x.program_id = {{}} AND x.plan IN ({plans}) AND x.status <> 'refunded'"
            " AND x.ends_at >= {} AND x.ends_at < {} GROUP BY 1",
            *codes,
            settings_of(program).renewal_window_days,
            program.id,
            *codes,
            start,
            dt.datetime.now(dt.UTC),
        )
        months: dict[str, dict[str, int]] = {}
        for r in sold:
            months.setdefault(r["month"], {}).update(
                sold=int(r["sold"]), renewals=int(r["renewals"]), revenue=int(r["revenue"] or 0)
            )
        for r in ended:
            months.setdefault(r["month"], {}).update(ended=int(r["ended"]), renewed=int(r["renewed"]))
        out = []
        for month in sorted(months):
            m = months[month]
            count, renewals, gone, renewed = (
                m.get("sold", 0),
                m.get("renewals", 0),
                m.get("ended", 0),
                m.get("renewed", 0),
            )
            out.append(
                [month, count, count - renewals, renewals, m.get("revenue", 0), gone, renewed, rate(renewed, gone)]
            )
        return ReportResult(columns, out)


class CrossVenue(TourismReport):
    """跨业态消费: per store (with its venue format): purchases, members, net spend, members who also
    bought at another store, points earned there and points redeemed there (paying with points
    and gifts exchanged at the store)."""

    name = "tourism_cross_venue"
    title_zh, title_en = "跨业态消费", "Across venues"
    by = ("venue",)

    async def query(self, program: ProgramConfig, start: dt.datetime, first_day: str, by: str) -> ReportResult:
        sales = await fetch(
            "SELECT st.id, st.code AS store, st.name AS store_name, MAX(tv.format) AS format, COUNT(*) AS sales,"
            " COUNT(DISTINCT s.member_id) AS members, SUM(s.total - s.refunded_amount) AS spend,"
            " SUM(s.points_earned) AS points_earned, SUM(s.points_redeemed) AS points_paid,"
            " COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM sale o WHERE o.program_id = {}"  # Citus: one worker
            " AND o.member_id = s.member_id AND o.store_id <> s.store_id AND o.status <> 'refunded'"
            " AND o.occurred_at >= {}) THEN s.member_id END) AS cross_members"
            " FROM sale s JOIN store st ON st.id = s.store_id LEFT JOIN tourism_venue tv ON tv.program_id ="
            " s.program_id AND tv.store_id = s.store_id"
            " WHERE s.program_id = {} AND s.status <> 'refunded' AND s.occurred_at >= {}"
            " GROUP BY st.id, st.code, st.name ORDER BY st.code",
            program.id,
            start,
            program.id,
            start,
        )
        gifts = await fetch(
            "SELECT p.store_id, SUM(-e.amount) AS points FROM ledger_posting p"
            " JOIN ledger_entry e ON e.program_id = p.program_id AND e.posting_id = p.id JOIN ledger_account a ON"
            " a.program_id = e.program_id AND a.id = e.account_id"
            " WHERE p.program_id = {} AND p.kind = 'redeem'"
            " AND a.kind = 'points' AND p.created_at >= {} GROUP BY p.store_id",
            program.id,
            start,
        )
        redeemed = {r["store_id"]: int(r["points"] or 0) for r in gifts}
        columns = [
            "store",
            "store_name",
            "format",
            "sales",
            "members",
            "cross_members",
            "spend",
            "points_earned",
            "points_redeemed",
        ]
        return ReportResult(
            columns,
            [
                [
                    r["store"],
                    r["store_name"],
                    r["format"] or "",
                    int(r["sales"]),
                    int(r["members"]),
                    int(r["cross_members"]),
                    int(r["spend"] or 0),
                    int(r["points_earned"] or 0),
                    int(r["points_paid"] or 0) + redeemed.get(r["id"], 0),
                ]
                for r in sales
            ],
        )


REPORTS: dict[str, type[TourismReport]] = {
    report.name: report for report in (Revisits, SecondarySpending, Entries, Renewals, CrossVenue)
}


async def run_report(program_id: uuid.UUID, name: str, params: dict[str, Any]) -> ReportResult:
    """Tourism report ``name`` for the program; ``TourismReportNotFound`` for another name."""
    if name not in REPORTS:
        raise TourismReportNotFound(name=name, known=", ".join(REPORTS))
    return await REPORTS[name]().run(program_id, params)
