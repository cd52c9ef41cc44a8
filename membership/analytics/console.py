"""Console pages for analytics: the dashboard (经营看板) and every registered report as a table.

Both read only reports registered through the analytics hook, so a pack's reports show up here
the same way the built-in ones do.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_percent, get_currency_precision
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.analytics.interface import ReportResult
from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.errors import ReportNotFound
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.staff.roles import Permission

DASHBOARD = {"permission": Permission.VIEW_DASHBOARD}
TREND_MONTHS = 12


async def _run(name: str, program: ProgramConfig, params: dict[str, Any] | None = None) -> ReportResult:
    reports = hooks().reports()
    if name not in reports:
        raise ReportNotFound(name=name)
    return await reports[name]().run(program.id, params or {})


def _rate(part: int, whole: int) -> str:
    return format_percent(part / whole if whole else 0, locale=i18n.current_language())


def _tier_names(program: ProgramConfig) -> dict[str, str]:
    names = {t["code"]: t.get("name", t["code"]) for t in program.settings.get("tiers", [])}
    return {"": i18n.gettext("No tier"), **names}


@get("/dashboard", opt=DASHBOARD, name="console-dashboard")
async def dashboard(request: Request) -> Template:
    """Figures (members, new this month, active, repeat-purchase rate, sales, points liability)
    and three charts (sales trend, tier distribution, new vs returning buyers)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    figures = (await _run("dashboard_figures", program)).as_dicts()[0]
    liability = {row["account"]: row["total"] for row in (await _run("points_liability", program)).as_dicts()}
    months = {"months": TREND_MONTHS}
    tiers = _tier_names(program)
    charts = {
        "labels": {
            "revenue": i18n.gettext("Revenue"),
            "sales": i18n.gettext("Sales"),
            "new": i18n.gettext("New buyers"),
            "returning": i18n.gettext("Returning buyers"),
        },
        "currency_digits": get_currency_precision(program.currency),
        "sales": (await _run("sales_by_month", program, months)).as_dicts(),
        "tiers": [
            {"name": tiers.get(row["tier"], row["tier"]), "value": row["members"]}
            for row in (await _run("tier_distribution", program)).as_dicts()
        ],
        "buyers": (await _run("new_vs_returning", program, months)).as_dicts(),
    }
    context = {
        "staff": staff,
        "active": "dashboard",
        "program": program,
        "figures": figures,
        "repeat_rate": _rate(figures["repeat_buyers"], figures["active_members"]),
        "points_liability": liability.get("points", 0),
        "stored_value_liability": liability.get("stored_value", 0),
        "charts": charts,
        "reports": _report_titles(),
    }
    return Template("analytics/dashboard.html", context=context)


def _report_titles() -> list[tuple[str, str]]:
    english = i18n.current_language() == "en"
    return [(name, report.title_en if english else report.title_zh) for name, report in hooks().reports().items()]


@get("/reports/{name:str}", opt=DASHBOARD)
async def report_page(request: Request, name: FromPath[str], months: FromQuery[int] = 0) -> Template:
    """One registered report as a table (``months`` limits reports that take it)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    result = await _run(name, program, {"months": months} if months > 0 else {})
    titles = dict(_report_titles())
    context = {
        "staff": staff,
        "active": "dashboard",
        "name": name,
        "title": titles[name],
        "result": result,
        "months": months,
        "reports": list(titles.items()),
    }
    return Template("analytics/report.html", context=context)


ROUTES = [dashboard, report_page]
