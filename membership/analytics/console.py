"""Console pages for analytics: the dashboard (经营看板) and every registered report as a table a
boss reads (headings in Chinese or English with units, amounts in yuan, totals only where they
add up), filtered by a period and a store, and downloaded as XLSX or CSV (audited).

Both read only reports registered through the analytics hook, so a pack's reports show up here
the same way the built-in ones do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from babel.numbers import format_percent, get_currency_precision
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.analytics import tables
from membership.analytics.interface import Report, ReportResult
from membership.audit import service as audit
from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.field_names import error_text
from membership.console.workplace import staff_program
from membership.db import use_case
from membership.errors import MembershipError, ReportNotFound
from membership.org.service import ProgramConfig, list_stores
from membership.plugins import hooks
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo
from membership.tiers.policy import tier_config

DASHBOARD = {"permission": Permission.VIEW_DASHBOARD}


def _report(name: str) -> type[Report]:
    reports = hooks().reports()
    if name not in reports:
        raise ReportNotFound(name=name)
    return reports[name]


async def _run(name: str, program: ProgramConfig, params: dict[str, Any] | None = None) -> ReportResult:
    return await _report(name)().run(program.id, params or {})


def _rate(part: int, whole: int) -> str:
    return format_percent(part / whole if whole else 0, locale=i18n.current_language())


def _tier_names(program: ProgramConfig) -> dict[str, str]:
    names = {tier.code: tier.name for tier in tier_config(program.settings).tiers}
    return {"": i18n.gettext("No tier"), **names}


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a page is filtered by: local dates (inclusive; None: open), a store (None: all),
    the last ``months`` for reports that take no dates, and the stores to choose from."""

    start: dt.date | None
    end: dt.date | None
    store_id: uuid.UUID | None
    months: int
    stores: list[dict[str, Any]]

    def params(self, report: type[Report]) -> dict[str, Any]:
        """The params ``report`` takes from these filters."""
        params: dict[str, Any] = {}
        if "dates" in report.filters:
            params |= {"start": self.start, "end": self.end}
        elif self.months > 0:
            params["months"] = self.months
        if "store" in report.filters and self.store_id:
            params["store_id"] = self.store_id
        return params

    def query(self) -> str:
        """The filters as a query string (for the download links)."""
        parts = [f"start={self.start or ''}", f"end={self.end or ''}", f"store={self.store_id or ''}"]
        return "&".join([*parts, f"months={self.months}"])

    def described(self, report: type[Report]) -> list[tuple[str, str]]:
        """The filters ``report`` used, as (label, value) in the page's language."""
        out = []
        if "dates" in report.filters:
            out.append((i18n.gettext("Period"), f"{self.start or '…'} – {self.end or '…'}"))
        elif self.months > 0:
            out.append((i18n.gettext("Last months"), str(self.months)))
        if "store" in report.filters:
            names = {s["id"]: f"{s['code']} {s['name']}" for s in self.stores}
            out.append((i18n.gettext("Store"), names.get(self.store_id, i18n.gettext("All stores"))))
        return out


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


async def _filters(
    staff: StaffInfo, start: str, end: str, store: str, months: int, default_start: dt.date | None = None
) -> Filters:
    """The filters as asked (a date that is not one is left open; a store-bound staff member
    sees their store only)."""
    stores = await list_stores(staff.merchant_id)
    if staff.store_id is not None:
        stores = [s for s in stores if s["id"] == staff.store_id]
    try:
        store_id = uuid.UUID(store) if store.strip() else None
    except ValueError:
        store_id = None
    if staff.store_id is not None:
        store_id = staff.store_id
    elif store_id not in {s["id"] for s in stores}:
        store_id = None
    first = _date(start) if start.strip() else default_start
    return Filters(first, _date(end), store_id, max(0, months), stores)


@get("/dashboard", opt=DASHBOARD, name="console-dashboard")
async def dashboard(
    request: Request, start: FromQuery[str] = "", end: FromQuery[str] = "", store: FromQuery[str] = ""
) -> Template:
    """Figures over a period (this month unless chosen) and a store: members, new, buying and
    repeat members, sales, revenue, average ticket, points earned; points and stored value held;
    three charts over the same period (sales by month, new vs returning buyers) and the tiers."""
    staff = current_staff(request)
    program = await staff_program(staff)
    today = dt.datetime.now(program.zone).date()
    chosen = await _filters(staff, start, end, store, 0, default_start=today.replace(day=1))
    if chosen.end is None:
        chosen = dataclasses.replace(chosen, end=today)
    error = ""
    try:
        figures = (await _run("period_figures", program, chosen.params(_report("period_figures")))).as_dicts()[0]
        sales = (await _run("sales_by_month", program, chosen.params(_report("sales_by_month")))).as_dicts()
        buyers = (await _run("new_vs_returning", program, chosen.params(_report("new_vs_returning")))).as_dicts()
    except MembershipError as exc:
        error, figures, sales, buyers = error_text(exc), None, [], []
    liability = (await _run("points_liability", program)).as_dicts()
    tiers = _tier_names(program)
    charts = {
        "labels": {
            "revenue": i18n.gettext("Revenue"),
            "sales": i18n.gettext("Sales"),
            "new": i18n.gettext("New buyers"),
            "returning": i18n.gettext("Returning buyers"),
        },
        "currency_digits": get_currency_precision(program.currency),
        "sales": sales,
        "tiers": [
            {"name": tiers.get(row["tier"], row["tier"]), "value": row["members"]}
            for row in (await _run("tier_distribution", program)).as_dicts()
        ],
        "buyers": buyers,
    }
    context = {
        "staff": staff,
        "active": "dashboard",
        "program": program,
        "filters": chosen,
        "figures": figures,
        "repeat_rate": _rate(figures["repeat_buyers"], figures["active_members"]) if figures else "",
        "points_liability": sum(row["points"] or 0 for row in liability if row["account"] == "points"),
        "stored_value_liability": sum(row["amount"] or 0 for row in liability),
        "charts": charts,
        "reports": _report_titles(),
        "error": error,
    }
    return Template("analytics/dashboard.html", context=context)


def _report_titles() -> list[tuple[str, str]]:
    english = i18n.current_language() == "en"
    return [(name, report.title_en if english else report.title_zh) for name, report in hooks().reports().items()]


async def _table(staff: StaffInfo, name: str, chosen: Filters) -> tuple[ProgramConfig, tables.Table]:
    program = await staff_program(staff)
    report = _report(name)
    result = await report().run(program.id, chosen.params(report))
    store_names = {s["code"]: s["name"] for s in chosen.stores}
    names = {"tier": _tier_names(program), "issuer_store": store_names, "redeemer_store": store_names}
    return program, tables.build(report, result, program.currency, names, chosen.described(report))


@get("/reports/{name:str}", opt=DASHBOARD)
async def report_page(
    request: Request,
    name: FromPath[str],
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    store: FromQuery[str] = "",
    months: FromQuery[int] = 0,
) -> Template:
    """One registered report as a table, filtered by the period and store it takes (or the
    last ``months``), with its download links."""
    staff = current_staff(request)
    report = _report(name)
    chosen = await _filters(staff, start, end, store, months)
    context: dict[str, Any] = {
        "staff": staff,
        "active": "dashboard",
        "name": name,
        "report": report,
        "title": dict(_report_titles())[name],
        "filters": chosen,
        "reports": _report_titles(),
        "table": None,
        "error": "",
    }
    try:
        context["table"] = (await _table(staff, name, chosen))[1]
    except MembershipError as exc:
        context["error"] = error_text(exc)
    return Template("analytics/report.html", context=context, status_code=422 if context["error"] else 200)


@use_case
async def _record_download(staff: StaffInfo, program: ProgramConfig, name: str, form: str, chosen: Filters) -> None:
    details = {"format": form, "start": str(chosen.start or ""), "end": str(chosen.end or ""), "months": chosen.months}
    details["store_id"] = str(chosen.store_id or "")
    await audit.record(staff.actor, "report.download", "report", name, program.id, details)


@get("/reports/{name:str}/{form:str}", opt=DASHBOARD)
async def download(
    request: Request,
    name: FromPath[str],
    form: FromPath[str],
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    store: FromQuery[str] = "",
    months: FromQuery[int] = 0,
) -> Response[bytes]:
    """The report as ``xlsx`` or ``csv`` (``form``), filtered as the page is; audited."""
    if form not in ("xlsx", "csv"):
        raise ReportNotFound(name=f"{name}/{form}")
    staff = current_staff(request)
    chosen = await _filters(staff, start, end, store, months)
    program, table = await _table(staff, name, chosen)
    await _record_download(staff, program, name, form, chosen)
    body = tables.as_xlsx(table) if form == "xlsx" else tables.as_csv(table)
    media = tables.XLSX_TYPE if form == "xlsx" else "text/csv; charset=utf-8"
    stamp = dt.datetime.now(program.zone).strftime("%Y%m%d")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{form}"'},
    )


ROUTES = [dashboard, report_page, download]
