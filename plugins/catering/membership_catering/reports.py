"""Catering reports (餐饮报表), set-based SQL in the database over the pack's visits and the
kernel's ``sale``/``sale_line``: visit frequency (到店频次), per-head spend (人均消费) and favourite
dishes (最爱菜品), each by store or by member. They are registered through the analytics hook (the
console's report pages list them), drawn on the pack's page 餐饮报表 and served by
``GET /api/v1/catering/programs/{id}/reports/{name}``.

Parameters: ``months`` (whole local months back, this one included; 0 or none: all time), ``by``
(``store``, ``member``; visits also ``frequency``, per-head also ``meal``), ``top`` (dishes per
store or member; members listed by the other reports), ``members`` (members the dishes report
lists) and ``member_id`` (dishes of one member).
Refunds count: a fully refunded sale is no visit, and net amounts subtract what was given back.
Members are shown by member number, never by name.
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
from membership_catering.errors import CateringOff, CateringReportNotFound
from membership_catering.settings import NAME

MAX_TOP = 500


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


class CateringReport(Report):
    """A catering report: refused for a program the pack is off for."""

    by: ClassVar[tuple[str, ...]] = ("store",)

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """The report for the program, as its parameters ask."""
        program = await get_program(program_id)
        if not plugin_enabled(program, NAME):
            raise CateringOff()
        months = _param(params, "months", 0, 600)
        return await self.query(program, since(program, months), _by(params, self.by), params)

    async def query(
        self, program: ProgramConfig, start: dt.datetime, by: str, params: dict[str, Any]
    ) -> ReportResult:  # pragma: no cover - each report answers
        raise NotImplementedError


_VISITS = (
    " FROM catering_visit v JOIN sale s ON s.program_id = v.program_id AND s.id = v.sale_id"
    " WHERE v.program_id = {} AND v.occurred_at >= {} AND s.status <> 'refunded'"
)


def _moment(value: Any) -> dt.datetime:
    """A time an aggregate returned: SQLite gives ``MIN``/``MAX`` of a time column as text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 2) if whole else 0.0


class VisitFrequency(CateringReport):
    """到店频次: visits and visitors per store; the members who come most (visits, first and last
    visit, average days between visits, net spend); or how many members came once, 2–3, 4–7, 8+."""

    name = "catering_visits"
    title_zh, title_en = "到店频次", "Visit frequency"
    by = ("store", "member", "frequency")

    async def query(self, program: ProgramConfig, start: dt.datetime, by: str, params: dict[str, Any]) -> ReportResult:
        if by == "store":
            rows = await fetch(
                "SELECT st.code AS store, st.name AS store_name, COUNT(*) AS visits,"
                " COUNT(DISTINCT v.member_id) AS members, SUM(s.total - s.refunded_amount) AS spend"
                + _VISITS.replace(" WHERE", " JOIN store st ON st.id = v.store_id WHERE")
                + " GROUP BY st.code, st.name ORDER BY visits DESC, st.code",
                program.id,
                start,
            )
            columns = ["store", "store_name", "visits", "members", "visits_per_member", "spend"]
            return ReportResult(
                columns,
                [
                    [
                        r["store"],
                        r["store_name"],
                        int(r["visits"]),
                        int(r["members"]),
                        _ratio(int(r["visits"]), int(r["members"])),
                        int(r["spend"]),
                    ]
                    for r in rows
                ],
            )
        if by == "frequency":
            rows = await fetch(
                "SELECT CASE WHEN n = 1 THEN '1' WHEN n <= 3 THEN '2-3' WHEN n <= 7 THEN '4-7' ELSE '8+' END AS visits,"
                " COUNT(*) AS members, MIN(n) AS fewest FROM (SELECT v.member_id, COUNT(*) AS n"
                + _VISITS
                + " GROUP BY v.member_id) counted GROUP BY 1 ORDER BY fewest",
                program.id,
                start,
            )
            return ReportResult(["visits", "members"], [[r["visits"], int(r["members"])] for r in rows])
        top = _param(params, "top", 50, MAX_TOP) or 50
        rows = await fetch(
            "SELECT m.member_no, COUNT(*) AS visits, MIN(v.occurred_at) AS first_visit,"
            " MAX(v.occurred_at) AS last_visit, SUM(s.total - s.refunded_amount) AS spend"
            + _VISITS.replace(" WHERE", " JOIN member m ON m.program_id = v.program_id AND m.id = v.member_id WHERE")
            + " GROUP BY m.member_no ORDER BY visits DESC, spend DESC, m.member_no LIMIT {}",
            program.id,
            start,
            top,
        )
        columns = ["member_no", "visits", "first_visit", "last_visit", "days_between_visits", "spend"]
        out = []
        for r in rows:
            visits, first, last = int(r["visits"]), _moment(r["first_visit"]), _moment(r["last_visit"])
            between = round((last - first).total_seconds() / 86400 / (visits - 1), 1) if visits > 1 else None
            out.append([r["member_no"], visits, first, last, between, int(r["spend"])])
        return ReportResult(columns, out)


class PerHeadSpend(CateringReport):
    """人均消费: net spend per diner, over the meals whose party size the till sent, by store, by
    meal period and service mode, or by member (the highest first)."""

    name = "catering_per_head"
    title_zh, title_en = "人均消费", "Per-head spend"
    by = ("store", "meal", "member")

    async def query(self, program: ProgramConfig, start: dt.datetime, by: str, params: dict[str, Any]) -> ReportResult:
        counted = " COUNT(*) AS visits, SUM(v.party_size) AS diners, SUM(s.total - s.refunded_amount) AS spend"
        known = _VISITS + " AND v.party_size IS NOT NULL"
        if by == "store":
            rows = await fetch(
                "SELECT st.code AS store, st.name AS store_name,"
                + counted
                + known.replace(" WHERE", " JOIN store st ON st.id = v.store_id WHERE")
                + " GROUP BY st.code, st.name ORDER BY st.code",
                program.id,
                start,
            )
            keys = ["store", "store_name"]
        elif by == "meal":
            rows = await fetch(
                "SELECT v.meal_period, v.service_mode,"
                + counted
                + known
                + " GROUP BY v.meal_period, v.service_mode ORDER BY CASE v.meal_period WHEN 'breakfast' THEN 1"
                " WHEN 'lunch' THEN 2 WHEN 'afternoon_tea' THEN 3 WHEN 'dinner' THEN 4 ELSE 5 END, v.service_mode",
                program.id,
                start,
            )
            keys = ["meal_period", "service_mode"]
        else:
            top = _param(params, "top", 50, MAX_TOP) or 50
            rows = await fetch(
                "SELECT m.member_no,"
                + counted
                + known.replace(" WHERE", " JOIN member m ON m.program_id = v.program_id AND m.id = v.member_id WHERE")
                + " GROUP BY m.member_no ORDER BY SUM(s.total - s.refunded_amount) * 1.0 / SUM(v.party_size) DESC,"
                " m.member_no LIMIT {}",
                program.id,
                start,
                top,
            )
            keys = ["member_no"]
        columns = [*keys, "visits", "diners", "spend", "per_head"]
        out = []
        for r in rows:
            diners, spend = int(r["diners"]), int(r["spend"])
            out.append([r[k] for k in keys] + [int(r["visits"]), diners, spend, spend // diners if diners else 0])
        return ReportResult(columns, out)


class FavouriteDishes(CateringReport):
    """最爱菜品: the dishes sold most (units kept after refunds) in each store, or each member's
    favourites (the members who bought most first; one member with ``member_id``)."""

    name = "catering_dishes"
    title_zh, title_en = "最爱菜品", "Favourite dishes"
    by = ("store", "member")

    async def query(self, program: ProgramConfig, start: dt.datetime, by: str, params: dict[str, Any]) -> ReportResult:
        top = _param(params, "top", 5 if by == "store" else 3, MAX_TOP) or 5
        group = "st.code" if by == "store" else "m.member_no"
        joins = (
            " JOIN store st ON st.id = s.store_id"
            if by == "store"
            else " JOIN member m ON m.program_id = s.program_id AND m.id = s.member_id"
        )
        only, args = "", [program.id, start]
        if params.get("member_id"):
            try:
                member_id = uuid.UUID(str(params["member_id"]))
            except ValueError:
                raise ValidationError(field="member_id", reason=Reason("not a member id", "不是会员编号")) from None
            only, args = " AND s.member_id = {}", [*args, member_id]
        ranked = (
            f"SELECT {group} AS holder, l.sku, MAX(l.name) AS name, SUM(l.quantity - l.refunded_quantity) AS quantity,"
            " SUM((l.quantity - l.refunded_quantity) * l.unit_price) AS amount,"
            f" ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY SUM(l.quantity - l.refunded_quantity) DESC,"
            " SUM((l.quantity - l.refunded_quantity) * l.unit_price) DESC, l.sku) AS dish_rank,"
            f" SUM(SUM(l.quantity - l.refunded_quantity)) OVER (PARTITION BY {group}) AS bought"
            f" FROM sale_line l JOIN sale s ON s.program_id = l.program_id AND s.id = l.sale_id{joins}"
            f" WHERE s.program_id = {{}} AND s.occurred_at >= {{}}{only} GROUP BY {group}, l.sku"
        )
        members = _param(params, "members", 50, MAX_TOP) or 50
        rows = await fetch(
            "SELECT holder, sku, name, quantity, amount, dish_rank FROM (SELECT ranked.*,"
            " DENSE_RANK() OVER (ORDER BY bought DESC, holder) AS place FROM (" + ranked + ") ranked"
            " WHERE dish_rank <= {} AND quantity > 0) placed"
            + (" ORDER BY holder, dish_rank" if by == "store" else " WHERE place <= {} ORDER BY place, dish_rank"),
            *args,
            top,
            *([] if by == "store" else [members]),
        )
        holder = "store" if by == "store" else "member_no"
        columns = [holder, "rank", "sku", "name", "quantity", "amount"]
        return ReportResult(
            columns,
            [
                [r["holder"], int(r["dish_rank"]), r["sku"], r["name"], int(r["quantity"]), int(r["amount"])]
                for r in rows
            ],
        )


REPORTS: dict[str, type[CateringReport]] = {
    report.name: report for report in (VisitFrequency, PerHeadSpend, FavouriteDishes)
}


async def run_report(program_id: uuid.UUID, name: str, params: dict[str, Any]) -> ReportResult:
    """Catering report ``name`` for the program; ``CateringReportNotFound`` for another name."""
    if name not in REPORTS:
        raise CateringReportNotFound(name=name, known=", ".join(REPORTS))
    return await REPORTS[name]().run(program_id, params)
