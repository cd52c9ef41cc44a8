"""The pack's console pages (景区年卡), under ``/console/tourism``, in Chinese and English (the staff
member's language), with forms for shop staff (amounts in yuan):

* 入园核验 ``/console/tourism/`` — check a visitor at a gate by e-card code, ID card, card or phone
  (what the gate's terminal does through the API), today's counts per gate and the latest tries;
* 年卡 ``/console/tourism/passes`` — find a member: their passes, the e-card code (a QR that
  changes every few seconds), sell or renew a pass, add and remove family members, register an ID
  card; the latest passes sold;
* 年卡方案 ``/console/tourism/plans`` — which paid plans are passes, with family members, daily
  entries and re-entry rules (owners and managers);
* 不可用日期 ``/console/tourism/blackout`` — blackout dates (owners and managers);
* 场馆与闸机 ``/console/tourism/venues`` — the venues' formats, pass holders' benefits, the gates;
* 文旅报表 ``/console/tourism/reports`` — revisit rate, secondary spending, entries by hour and gate,
  renewals, across venues: a chart (the console's ECharts) and the table.

Each page works on the staff member's program and says so when the pack is off for it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import segno
from litestar import Request, Response, Router, get, post
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect, Template

from membership.plugin import (
    ConsolePage,
    MembershipError,
    NotFound,
    ProgramConfig,
    fetch_one,
    get_member,
    identify,
    issue_credential,
    paid_plans,
    plugin_enabled,
    staff_program,
)
from membership_tourism import e_card, entries, gates, pass_plans, passes, reports, venues
from membership_tourism.entries import REASON_NAMES
from membership_tourism.pass_plans import KIND_NAMES
from membership_tourism.passes import RELATIONS
from membership_tourism.settings import NAME, settings_of
from membership_tourism.values import local_day, now, parse_day, whole, yuan

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
ALL = ("owner", "manager", "clerk", "analyst")
DESK = {"roles": ("owner", "manager", "clerk")}
EDIT = {"roles": ("owner", "manager")}
LOOK = {"roles": ("owner", "manager", "analyst")}
GATE_KINDS = ("pass_qr", "id_card", "card_uid", "qr_token", "phone")
KIND_LABELS = {
    "pass_qr": ("年卡电子码", "Pass e-card code"),
    "id_card": ("身份证", "ID card"),
    "card_uid": ("会员卡", "Member card"),
    "qr_token": ("会员码", "Member QR code"),
    "phone": ("手机号", "Phone"),
    "barcode": ("条码", "Barcode"),
    "magstripe": ("磁条卡", "Magnetic card"),
}
FIND_KINDS = ("phone", "card_uid", "qr_token", "barcode", "magstripe", "id_card", "pass_qr")
METHODS = {
    "wechat_pay": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "card": ("银行卡", "Bank card"),
    "cash": ("现金", "Cash"),
    "stored_value": ("储值余额", "Stored value"),
}


def _en(request: Request) -> bool:
    return str(getattr(request.state.staff, "language", "zh")).startswith("en")


def _page(request: Request, template: str, program: ProgramConfig, status: int = 200, **context: Any) -> Template:
    """A pack page for the logged-in staff member, with the words of their language."""
    en = _en(request)

    def t(zh: str, english: str) -> str:
        return english if en else zh

    base = {
        "staff": request.state.staff,
        "active": "",
        "error": "",
        "notice": "",
        "program": program,
        "tourism_on": plugin_enabled(program, NAME),
        "t": t,
        "en": en,
        "yuan": yuan,
        "named": lambda pair: pair[1] if en else pair[0],
        "may_edit": request.state.staff.role in EDIT["roles"],
        "tab": "",
    }
    return Template(f"tourism/{template}", context={**base, **context}, status_code=status, media_type=MediaType.HTML)


def _error(request: Request, error: MembershipError) -> str:
    return error.detail("en" if _en(request) else "zh")


async def _program(request: Request) -> ProgramConfig:
    return await staff_program(request.state.staff)


def _off(request: Request, program: ProgramConfig) -> Template:
    return _page(request, "off.html", program, 409)


class _NoSuchMember(NotFound):
    code = "member_not_found"
    message_en = "No member of this program has that phone number, card, ID card or member number."
    message_zh = "本方案没有使用该手机号、卡号、身份证或会员号的会员。"


async def _find(program: ProgramConfig, text: str) -> uuid.UUID | None:
    """The member a typed id, member number, phone, card or ID card belongs to; None if nobody."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        member_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        row = await fetch_one("SELECT id FROM member WHERE id = {} AND program_id = {}", member_id, program.id)
        return row["id"] if row else None
    row = await fetch_one("SELECT id FROM member WHERE program_id = {} AND member_no = {}", program.id, text)
    if row:
        return row["id"]
    for kind in FIND_KINDS:
        try:
            return await identify(program.id, kind, text)
        except MembershipError:
            continue
    return None


# -- 入园核验 -----------------------------------------------------------------------------------------


async def _gate_page(
    request: Request,
    program: ProgramConfig,
    decision: Any = None,
    form: dict | None = None,
    error: str = "",
    status: int = 200,
) -> Template:
    today = local_day(program, now()).day
    return _page(
        request,
        "gate.html",
        program,
        status,
        tab="gate",
        gates=[g for g in await gates.list_gates(program) if g["active"]],
        kinds=[(k, KIND_LABELS[k]) for k in GATE_KINDS],
        decision=decision,
        form=form or {},
        error=error,
        counts=await entries.day_counts(program, today),
        latest=await entries.recent_entries(program, today, None, 20),
        reason_names=REASON_NAMES,
        today=today,
    )


@get("/", name="tourism-home", opt={"roles": ALL})
async def gate_page(request: Request) -> Template:
    """入园核验: the check form, today's counts per gate, the latest tries."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    return await _gate_page(request, program)


@post("/check", opt=DESK, status_code=200)
async def check(request: Request) -> Template:
    """Check a visitor at a gate, as the gate's terminal would, and show the answer."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    form = {k: (posted.get(k) or "").strip() for k in ("gate", "kind", "value")}
    try:
        decision = await entries.admit(program, form["gate"], form["kind"] or "pass_qr", form["value"])
    except MembershipError as exc:
        return await _gate_page(request, program, form=form, error=_error(request, exc), status=exc.status)
    return await _gate_page(request, program, decision=decision, form={**form, "value": ""})


# -- 年卡 ----------------------------------------------------------------------------------------------


async def _passes_page(
    request: Request,
    program: ProgramConfig,
    member_id: uuid.UUID | None,
    typed: str = "",
    error: str = "",
    status: int = 200,
    notice: str = "",
) -> Template:
    context: dict[str, Any] = {"member": None, "places": [], "credentials": []}
    if member_id is not None:
        context |= {
            "member": await get_member(member_id),
            "places": await passes.member_passes(program, member_id),
        }
    plans = [plan for plan in await pass_plans.list_plans(program) if plan.on_sale]
    return _page(
        request,
        "passes.html",
        program,
        status,
        tab="passes",
        typed=typed,
        error=error,
        notice=notice,
        plans=plans,
        kind_names=KIND_NAMES,
        relations=RELATIONS,
        methods=METHODS,
        recent=await passes.recent_passes(program, 30) if member_id is None else [],
        **context,
    )


@get("/passes", opt=DESK)
async def passes_page(request: Request) -> Template:
    """年卡: find a member and work on their passes; the latest passes sold."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    query = request.query_params
    typed = query.get("q", "")
    member_id = await _find(program, query.get("member", "") or typed)
    if typed and member_id is None:
        return await _passes_page(request, program, None, typed, _error(request, _NoSuchMember()), 404)
    done = {
        "sold": ("已售出", "Sold"),
        "family": ("已添加副卡", "Family member added"),
        "removed": ("已移除副卡", "Family member removed"),
        "id_card": ("已登记身份证", "ID card registered"),
    }
    notice = done.get(query.get("done", ""))
    return await _passes_page(
        request, program, member_id, typed, notice="" if notice is None else (notice[1] if _en(request) else notice[0])
    )


async def _posted_member(request: Request, program: ProgramConfig) -> tuple[Any, uuid.UUID | None]:
    posted = await request.form()
    return posted, await _find(program, posted.get("member", ""))


@post("/passes/sell", opt=DESK, status_code=200)
async def sell(request: Request) -> Template | Redirect:
    """Sell or renew a pass to the member (the fee as the paid plan says, paid by the method)."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted, member_id = await _posted_member(request, program)
    if member_id is None:
        return await _passes_page(request, program, None, "", _error(request, _NoSuchMember()), 404)
    staff = request.state.staff
    try:
        await passes.sell_pass(
            member_id,
            posted.get("plan", ""),
            posted.get("method", "cash"),
            staff.store_id,
            f"console-{posted.get('token', '')}" if posted.get("token") else None,
            staff.actor,
        )
    except MembershipError as exc:
        return await _passes_page(request, program, member_id, error=_error(request, exc), status=exc.status)
    return Redirect(f"/console/tourism/passes?member={member_id}&done=sold", status_code=303)


@post("/passes/family", opt=DESK, status_code=200)
async def add_family(request: Request) -> Template | Redirect:
    """Add a family member (found by phone, card or member number) to a pass."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted, member_id = await _posted_member(request, program)
    family = await _find(program, posted.get("family", ""))
    try:
        pass_id = uuid.UUID(posted.get("pass", ""))
        row = await passes.get_pass(pass_id)
        if row["program_id"] != program.id:
            raise _NoSuchMember()
        if family is None:
            raise _NoSuchMember()
        await passes.add_family(pass_id, family, posted.get("relation", "other"), request.state.staff.actor)
    except ValueError:
        return await _passes_page(request, program, member_id, error=_error(request, _NoSuchMember()), status=404)
    except MembershipError as exc:
        return await _passes_page(request, program, member_id, error=_error(request, exc), status=exc.status)
    return Redirect(f"/console/tourism/passes?member={member_id}&done=family", status_code=303)


@post("/passes/family/remove", opt=DESK, status_code=200)
async def remove_family(request: Request) -> Template | Redirect:
    """Take a family member off a pass."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted, member_id = await _posted_member(request, program)
    try:
        pass_id, family = uuid.UUID(posted.get("pass", "")), uuid.UUID(posted.get("family", ""))
        row = await passes.get_pass(pass_id)
        if row["program_id"] != program.id:
            raise _NoSuchMember()
        await passes.remove_family(program.id, pass_id, family, request.state.staff.actor)
    except ValueError:
        return await _passes_page(request, program, member_id, error=_error(request, _NoSuchMember()), status=404)
    except MembershipError as exc:
        return await _passes_page(request, program, member_id, error=_error(request, exc), status=exc.status)
    return Redirect(f"/console/tourism/passes?member={member_id}&done=removed", status_code=303)


@post("/passes/id-card", opt=DESK, status_code=200)
async def register_id_card(request: Request) -> Template | Redirect:
    """Register the member's ID card (身份证): afterwards it opens the gates. Only its keyed hash is
    kept; the number is never shown again."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted, member_id = await _posted_member(request, program)
    if member_id is None:
        return await _passes_page(request, program, None, "", _error(request, _NoSuchMember()), 404)
    try:
        await issue_credential(
            member_id, "id_card", posted.get("number", ""), request.state.staff.store_id, request.state.staff.actor
        )
    except MembershipError as exc:
        return await _passes_page(request, program, member_id, error=_error(request, exc), status=exc.status)
    return Redirect(f"/console/tourism/passes?member={member_id}&done=id_card", status_code=303)


@get("/e-card/{person_id:uuid}", opt=DESK)
async def e_card_fragment(request: Request, person_id: FromPath[uuid.UUID]) -> Template:
    """A person's e-card code as a QR image, refreshed by htmx as it changes (a fragment)."""
    program = await _program(request)
    person = await passes.person_row(person_id)
    if not plugin_enabled(program, NAME) or person is None or person["program_id"] != program.id:
        return _off(request, program)
    code = await e_card.code_for(program, person["holder_id"], person["secret"], person_id, now())
    image = segno.make_qr(code.token, error="m").svg_data_uri(scale=5, border=2)
    left = max(1, int((code.valid_until - now()).total_seconds()) + 1)
    return _page(
        request,
        "e_card.html",
        program,
        person_id=person_id,
        code=code,
        image=image,
        left=left,
        removed=person["removed_at"] is not None,
    )


# -- 年卡方案、不可用日期、场馆与闸机 ---------------------------------------------------------------------


async def _plans_page(
    request: Request,
    program: ProgramConfig,
    error: str = "",
    status: int = 200,
    form: dict | None = None,
    notice: str = "",
) -> Template:
    terms = {plan.code: plan for plan in await pass_plans.list_plans(program)}
    return _page(
        request,
        "plans.html",
        program,
        status,
        tab="plans",
        error=error,
        notice=notice,
        form=form or {},
        paid=paid_plans(program.settings),
        terms=terms,
        kind_names=KIND_NAMES,
    )


@get("/plans", opt=EDIT)
async def plans_page(request: Request) -> Template:
    """年卡方案: the program's paid plans, which of them are passes and on what terms."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    done = request.query_params.get("done", "")
    return await _plans_page(request, program, notice=done)


@post("/plans", opt=EDIT, status_code=200)
async def save_plan(request: Request) -> Template | Redirect:
    """Set a paid plan up as a pass, or change its terms."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    code = (posted.get("plan") or "").strip()
    form = {k: posted.get(k, "") for k in posted}
    try:
        data = {
            "kind": posted.get("kind", "annual"),
            "max_family": whole(posted.get("max_family", ""), "max_family"),
            "daily_entries": whole(posted.get("daily_entries", ""), "daily_entries"),
            "reentry_minutes": whole(posted.get("reentry_minutes", ""), "reentry_minutes"),
            "active": posted.get("active") == "1",
        }
        await pass_plans.save_plan(program.id, code, data, request.state.staff.actor)
    except MembershipError as exc:
        return await _plans_page(request, program, _error(request, exc), exc.status, form)
    return Redirect(f"/console/tourism/plans?done={code}", status_code=303)


async def _blackout_page(
    request: Request,
    program: ProgramConfig,
    error: str = "",
    status: int = 200,
    form: dict | None = None,
    notice: str = "",
) -> Template:
    today = local_day(program, now()).day
    return _page(
        request,
        "blackout.html",
        program,
        status,
        tab="blackout",
        error=error,
        notice=notice,
        form=form or {},
        days=await pass_plans.list_blackouts(program.id, today - dt.timedelta(days=31)),
        plans=await pass_plans.list_plans(program),
        today=today,
    )


@get("/blackout", opt=EDIT)
async def blackout_page(request: Request) -> Template:
    """不可用日期: the blackout dates from a month ago on, and a form to add one."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    return await _blackout_page(request, program, notice=request.query_params.get("done", ""))


@post("/blackout", opt=EDIT, status_code=200)
async def save_blackout(request: Request) -> Template | Redirect:
    """Add (or rename) a blackout date, for every pass plan or the ones ticked; or remove one."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    form = {"day": posted.get("day", ""), "name": posted.get("name", ""), "plans": posted.getall("plans", [])}
    try:
        day = parse_day(form["day"])
        if posted.get("remove") == "1":
            await pass_plans.delete_blackout(program.id, day)
        else:
            data = {"name": (form["name"] or "").strip(), "plans": [p for p in form["plans"] if p]}
            await pass_plans.save_blackout(program.id, day, data, request.state.staff.actor)
    except MembershipError as exc:
        return await _blackout_page(request, program, _error(request, exc), exc.status, form)
    return Redirect(f"/console/tourism/blackout?done={day.isoformat()}", status_code=303)


async def _venues_page(
    request: Request,
    program: ProgramConfig,
    error: str = "",
    status: int = 200,
    gate_form: dict | None = None,
    notice: str = "",
) -> Template:
    return _page(
        request,
        "venues.html",
        program,
        status,
        tab="venues",
        error=error,
        notice=notice,
        venues=await venues.list_venues(program),
        gates=await gates.list_gates(program),
        formats=venues.FORMATS,
        gate_form=gate_form or {},
    )


@get("/venues", opt=EDIT)
async def venues_page(request: Request) -> Template:
    """场馆与闸机: each store's format and pass holders' benefits; the gates."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    return await _venues_page(request, program, notice=request.query_params.get("done", ""))


@post("/venues", opt=EDIT, status_code=200)
async def save_venue(request: Request) -> Template | Redirect:
    """Tag a store as a venue with its pass holders' benefits (percent)."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    try:
        data = {
            "format": posted.get("format", ""),
            "pass_points_pct": whole(posted.get("pass_points_pct", ""), "pass_points_pct"),
            "pass_discount_pct": whole(posted.get("pass_discount_pct", ""), "pass_discount_pct"),
        }
        saved = await venues.save_venue(program.id, posted.get("store", ""), data, request.state.staff.actor)
    except MembershipError as exc:
        return await _venues_page(request, program, _error(request, exc), exc.status)
    return Redirect(f"/console/tourism/venues?done={saved['code']}", status_code=303)


@post("/gates", opt=EDIT, status_code=200)
async def save_gate(request: Request) -> Template | Redirect:
    """Add or change a gate."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    form = {k: posted.get(k, "") for k in ("code", "name", "store")} | {"active": posted.get("active") == "1"}
    try:
        data = {"name": form["name"].strip(), "store": form["store"], "active": form["active"]}
        await gates.save_gate(program.id, form["code"].strip(), data, request.state.staff.actor)
    except MembershipError as exc:
        return await _venues_page(request, program, _error(request, exc), exc.status, form)
    return Redirect(f"/console/tourism/venues?done={form['code'].strip()}", status_code=303)


# -- 文旅报表 ------------------------------------------------------------------------------------------

REPORT_VIEWS = {
    "tourism_revisits": ("month", "plan", "total"),
    "tourism_secondary": ("month", "format"),
    "tourism_entries": ("hour", "gate", "day"),
    "tourism_renewals": ("month",),
    "tourism_cross_venue": ("venue",),
}
MONEY = {"spend", "spend_per_visit", "revenue"}
RATES = {"revisit_rate", "secondary_rate", "renewal_rate"}
COLUMN_NAMES = {
    "month": ("月份", "Month"),
    "plan": ("年卡方案", "Pass plan"),
    "period": ("期间", "Period"),
    "visitors": ("入园人数", "Visitors"),
    "visit_days": ("入园人天", "Visit days"),
    "repeat_visitors": ("重游人数", "Repeat visitors"),
    "revisit_rate": ("重游率 %", "Revisit rate %"),
    "returning_visitors": ("老游客", "Returning"),
    "format": ("业态", "Format"),
    "visits": ("到访人天", "Visits"),
    "spending_visits": ("二次消费人天", "Spending visits"),
    "secondary_rate": ("二次消费率 %", "Secondary rate %"),
    "spend": ("消费金额（元）", "Spend"),
    "spend_per_visit": ("人均二次消费（元）", "Spend per visit"),
    "hour": ("时段", "Hour"),
    "entries": ("入园次数", "Entries"),
    "refused": ("拒绝次数", "Refused"),
    "gate": ("闸机", "Gate"),
    "gate_name": ("闸机名称", "Gate name"),
    "store_name": ("场馆", "Venue"),
    "days": ("使用天数", "Days"),
    "entries_per_day": ("日均入园", "Entries per day"),
    "day": ("日期", "Day"),
    "sold": ("售出", "Sold"),
    "new_passes": ("新办", "New"),
    "renewals": ("续卡", "Renewals"),
    "revenue": ("收入（元）", "Revenue"),
    "ended": ("到期", "Ended"),
    "renewed": ("到期后续卡", "Renewed"),
    "renewal_rate": ("续卡率 %", "Renewal rate %"),
    "store": ("门店", "Store"),
    "sales": ("消费笔数", "Purchases"),
    "members": ("会员数", "Members"),
    "cross_members": ("跨业态会员", "Members elsewhere too"),
    "points_earned": ("获得积分", "Points earned"),
    "points_redeemed": ("使用积分", "Points redeemed"),
}
BY_NAMES = {
    "month": ("按月", "By month"),
    "plan": ("按年卡方案", "By pass plan"),
    "total": ("合计", "Total"),
    "format": ("按业态", "By format"),
    "hour": ("按时段", "By hour"),
    "gate": ("按闸机", "By gate"),
    "day": ("按日期与闸机", "By day and gate"),
    "venue": ("按场馆", "By venue"),
}
CHARTS = {  # what the chart draws of each view: bars, and a line on the right axis
    ("tourism_revisits", "month"): ("month", ["visitors", "repeat_visitors"], "revisit_rate"),
    ("tourism_revisits", "plan"): ("plan", ["visitors", "repeat_visitors"], "revisit_rate"),
    ("tourism_secondary", "month"): ("month", ["visits", "spending_visits"], "secondary_rate"),
    ("tourism_secondary", "format"): ("format", ["spending_visits"], "secondary_rate"),
    ("tourism_entries", "hour"): ("hour", ["entries", "refused"], None),
    ("tourism_entries", "gate"): ("gate_name", ["entries", "refused"], "entries_per_day"),
    ("tourism_renewals", "month"): ("month", ["new_passes", "renewals"], "renewal_rate"),
    ("tourism_cross_venue", "venue"): ("store_name", ["members", "cross_members"], None),
}


def _chart(name: str, by: str, result: Any, en: bool) -> dict[str, Any] | None:
    spec = CHARTS.get((name, by))
    if spec is None or not result.rows:
        return None
    key, bars, line = spec
    rows = result.as_dicts()

    def label(column: str) -> str:
        pair = COLUMN_NAMES.get(column, (column, column))
        return pair[1] if en else pair[0]

    def category(value: Any) -> str:
        if key == "format":
            pair = venues.FORMATS.get(value, ("其他", "Other"))
            return pair[1] if en else pair[0]
        return f"{value}:00" if key == "hour" else str(value)

    series = [{"name": label(c), "type": "bar", "data": [r[c] for r in rows], "axis": 0} for c in bars]
    if line:
        series.append({"name": label(line), "type": "line", "data": [r[line] for r in rows], "axis": 1})
    return {"categories": [category(r[key]) for r in rows], "series": series}


@get("/reports", opt=LOOK)
async def reports_page(request: Request) -> Template:
    """文旅报表: a report with its chart and table; which one, by what, over how many months."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    query = request.query_params
    name = query.get("report", "tourism_revisits")
    name = name if name in REPORT_VIEWS else "tourism_revisits"
    by = query.get("by", REPORT_VIEWS[name][0])
    by = by if by in REPORT_VIEWS[name] else REPORT_VIEWS[name][0]
    try:
        months = whole(query.get("months", ""), "months", 12)
    except MembershipError:
        months = 12
    months = months if 0 <= months <= 600 else 12
    result = await reports.run_report(program.id, name, {"by": by, "months": months})
    return _page(
        request,
        "reports.html",
        program,
        tab="reports",
        views=REPORT_VIEWS,
        titles={n: (r.title_zh, r.title_en) for n, r in reports.REPORTS.items()},
        column_names=COLUMN_NAMES,
        by_names=BY_NAMES,
        formats=venues.FORMATS,
        name=name,
        by=by,
        months=months,
        result=result,
        money=MONEY,
        rates=RATES,
        chart=_chart(name, by, result, _en(request)),
        window=settings_of(program).renewal_window_days,
    )


@get("/charts.js", media_type="application/javascript", opt={"roles": ALL})
async def charts_script() -> Response:
    """The reports' chart script (a file of the pack: the console's policy runs no inline script)."""
    return Response((HERE / "static" / "charts.js").read_text(encoding="utf-8"), media_type="application/javascript")


ROUTER = Router(
    "/tourism",
    route_handlers=[
        gate_page,
        check,
        passes_page,
        sell,
        add_family,
        remove_family,
        register_id_card,
        e_card_fragment,
        plans_page,
        save_plan,
        blackout_page,
        save_blackout,
        venues_page,
        save_venue,
        save_gate,
        reports_page,
        charts_script,
    ],
)
PAGE = ConsolePage("/tourism", "景区年卡", "Scenic passes", ROUTER, roles=ALL, namespace="tourism", templates=TEMPLATES)
