"""The pack's console pages (银行卡会员), under ``/console/finance``, in Chinese and English (the
staff member's language):

* 银行卡会员 ``/console/finance/`` — find a cardholder by bank card, member number or phone: the
  cards (622202******1234), KYC, consents with their history (give or withdraw one), assets by
  month and the tier they earn; add a bank card; open a bank membership (开户入会: ID number, KYC,
  the required consents and the first card, each refusal beside its field);
* 商户类别积分 ``/console/finance/mcc`` — the MCC multipliers (owners and managers change them),
  the excluded categories, instalment and bill-payment rates, the velocity caps;
* 资产与等级 ``/console/finance/assets`` — upload a month's average daily balances (CSV, yuan),
  the tier thresholds, the latest feeds and the lines a feed refused;
* 积分对账单 ``/console/finance/statements`` — a member's statement of a month with its moves; the
  months built, and building one (owners and managers).

Each page works on the staff member's program and says so when the pack is off for it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from membership.plugin import (
    ConsolePage,
    MembershipError,
    ProgramConfig,
    ValidationError,
    enrol_member,
    fetch,
    get_member,
    issue_credential,
    member_consent_history,
    plugin_enabled,
    set_member_consent,
    staff_program,
)
from membership_finance import assets, enrolment, mcc, statements
from membership_finance.bank_card import NAME as BANK_CARD
from membership_finance.bank_card import normalize as card_number
from membership_finance.customers import find_member
from membership_finance.settings import NAME, settings_of
from membership_finance.values import month_of, now, parse_month, percent_of_times, previous_month, times_text, yuan

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
ALL = ("owner", "manager", "clerk", "analyst")
DESK = {"roles": ("owner", "manager", "clerk")}
EDIT = {"roles": ("owner", "manager")}
LOOK = {"roles": ("owner", "manager", "analyst")}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CATEGORIES = {
    "earned": ("获得", "earned"),
    "redeemed": ("使用", "redeemed"),
    "expired": ("过期", "expired"),
    "adjusted": ("调整", "adjusted"),
}
CARD_STATES = {
    "active": ("正常", "active"),
    "lost": ("已挂失", "reported lost"),
    "replaced": ("已换卡", "replaced"),
    "blocked": ("已停用", "blocked"),
}
DONE = {
    "enrolled": ("已开户入会", "Membership opened"),
    "card": ("已添加银行卡", "Bank card added"),
    "consent": ("授权已更新", "Consent updated"),
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
        "errors": {},
        "program": program,
        "t": t,
        "en": en,
        "yuan": yuan,
        "times": times_text,
        "named": lambda pair: pair[1] if en else pair[0],
        "may_edit": request.state.staff.role in EDIT["roles"],
        "may_serve": request.state.staff.role in DESK["roles"],
        "tab": "",
    }
    return Template(f"finance/{template}", context={**base, **context}, status_code=status, media_type=MediaType.HTML)


def _said(request: Request, error: MembershipError) -> str:
    return error.detail("en" if _en(request) else "zh")


def _reason(request: Request, error: MembershipError) -> str:
    """A refusal's reason alone (what goes beside its field)."""
    reason = error.params.get("reason") if isinstance(error, ValidationError) else None
    if reason is not None and hasattr(reason, "zh"):
        return reason.en if _en(request) else reason.zh
    return _said(request, error)


async def _program(request: Request) -> ProgramConfig:
    return await staff_program(request.state.staff)


def _off(request: Request, program: ProgramConfig) -> Template:
    return _page(request, "off.html", program, 409)


def _nobody(request: Request) -> str:
    return (
        "No member of this program has that bank card, member number or phone."
        if _en(request)
        else "本方案没有使用该银行卡号、会员号或手机号的会员。"
    )


# -- 银行卡会员 ---------------------------------------------------------------------------------------


async def _cards(member_id: uuid.UUID) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT value_hint, state, issued_at FROM credential WHERE member_id = {} AND kind = {} ORDER BY issued_at",
        member_id,
        BANK_CARD,
    )


async def _members_page(
    request: Request,
    program: ProgramConfig,
    member_id: uuid.UUID | None,
    typed: str = "",
    status: int = 200,
    error: str = "",
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    notice: str = "",
) -> Template:
    settings = settings_of(program)
    context: dict[str, Any] = {"member": None}
    if member_id is not None:
        member = await get_member(member_id)
        average = (await assets.averages(program, [member_id])).get(member_id)
        context |= {
            "member": member,
            "cards": await _cards(member_id),
            "card_states": CARD_STATES,
            "history": list(reversed(await member_consent_history(member_id)))[:20],
            "balances": await assets.member_balances(member_id, 6),
            "average": average,
            "by_assets": settings.tier_for_balance(average or 0) if settings.tiers_by_assets else None,
            "tier_name": lambda code: assets.tier_name(program, code),
        }
    return _page(
        request,
        "members.html",
        program,
        status,
        tab="members",
        typed=typed,
        error=error,
        errors=errors or {},
        form=form or {},
        notice=notice,
        purposes=enrolment.PURPOSES,
        required=enrolment.required_purposes(settings),
        kyc_statuses=enrolment.KYC_STATUSES,
        settings=settings,
        **context,
    )


@get("/", name="finance-home", opt={"roles": ALL})
async def members_page(request: Request) -> Template:
    """银行卡会员: find a cardholder; open a bank membership."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    query = request.query_params
    typed = query.get("q", "")
    member_id = await find_member(program, query.get("member", "") or typed)
    if typed and member_id is None:
        return await _members_page(request, program, None, typed, 404, _nobody(request))
    done = DONE.get(query.get("done", ""))
    notice = "" if done is None else (done[1] if _en(request) else done[0])
    return await _members_page(request, program, member_id, typed, notice=notice)


@post("/enrol", opt=DESK, status_code=200)
async def enrol(request: Request) -> Template | Redirect:
    """Open a bank membership: the profile with ID number, KYC and consents, and the first bank
    card; a refusal shows beside its field and keeps what was typed."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    form = {k: (posted.get(k) or "").strip() for k in ("name", "phone", "id_number", "kyc_status", "card")}
    form["consents"] = [p for p in posted.getall("consents", []) if p in enrolment.PURPOSES]
    profile: dict[str, Any] = {
        "name": form["name"],
        "id_number": form["id_number"].upper() or None,
        "preferences": {"kyc_status": form["kyc_status"]},
        "consents": {purpose: purpose in form["consents"] for purpose in enrolment.PURPOSES},
        "source_channel": "branch",
    }
    if form["phone"]:
        profile["phone"] = form["phone"]
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = "Required" if _en(request) else "必填"
    if form["card"]:
        try:
            card_number(form["card"])
        except MembershipError as exc:
            errors["card"] = _reason(request, exc)
    found = enrolment.problem(program, profile)
    if found is not None:
        field, reason = found
        errors[field] = reason.en if _en(request) else reason.zh
    member = None
    staff = request.state.staff
    if not errors:
        try:
            member = await enrol_member(program.id, profile, store_id=staff.store_id, actor=staff.actor)
        except MembershipError as exc:
            field = str(exc.params.get("field", ""))
            errors[field if field in form else ""] = _reason(request, exc)
    if errors:
        return await _members_page(
            request, program, None, status=422, error=errors.pop("", ""), errors=errors, form=form
        )
    if form["card"]:
        try:
            await issue_credential(member.id, BANK_CARD, form["card"], staff.store_id, staff.actor)
        except MembershipError as exc:  # the membership is open; the card goes beside the card form
            notice = "Membership opened; the card was not added." if _en(request) else "已开户入会，银行卡未添加。"
            errors = {"number": _reason(request, exc)}
            return await _members_page(request, program, member.id, status=exc.status, errors=errors, notice=notice)
    return Redirect(f"/console/finance?member={member.id}&done=enrolled", status_code=303)


@post("/cards", opt=DESK, status_code=200)
async def add_card(request: Request) -> Template | Redirect:
    """Add a bank card to the cardholder (the number is checked and kept only as its hash)."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    member_id = await find_member(program, posted.get("member", ""))
    if member_id is None:
        return await _members_page(request, program, None, status=404, error=_nobody(request))
    try:
        staff = request.state.staff
        await issue_credential(member_id, BANK_CARD, posted.get("number", ""), staff.store_id, staff.actor)
    except MembershipError as exc:
        return await _members_page(
            request, program, member_id, status=exc.status, errors={"number": _reason(request, exc)}
        )
    return Redirect(f"/console/finance?member={member_id}&done=card", status_code=303)


@post("/consents", opt=DESK, status_code=200)
async def change_consent(request: Request) -> Template | Redirect:
    """Give or withdraw one consent of the cardholder (recorded with who and where: 网点)."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    member_id = await find_member(program, posted.get("member", ""))
    purpose = posted.get("purpose", "")
    if member_id is None or purpose not in enrolment.PURPOSES:
        return await _members_page(request, program, member_id, status=404, error=_nobody(request))
    await set_member_consent(member_id, purpose, posted.get("granted") == "1", request.state.staff.actor, "branch")
    return Redirect(f"/console/finance?member={member_id}&done=consent", status_code=303)


# -- 商户类别积分 -------------------------------------------------------------------------------------


async def _mcc_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str = "",
) -> Template:
    settings = settings_of(program)
    excluded = [(entry, mcc.name_of(*mcc.parse_range(entry))) for entry in settings.excluded_mccs]
    return _page(
        request,
        "mcc.html",
        program,
        status,
        tab="mcc",
        rules=[(rule, mcc.name_of(rule.first, rule.last)) for rule in await mcc.list_rules(program.id)],
        excluded=excluded,
        settings=settings,
        errors=errors or {},
        form=form or {},
        notice=notice,
    )


@get("/mcc", opt={"roles": ALL})
async def mcc_page(request: Request) -> Template:
    """商户类别积分: the MCC rules, the excluded categories, the rates and caps."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    done = request.query_params.get("done", "")
    notice = (f"Saved: {done}" if _en(request) else f"已保存：{done}") if done else ""
    return await _mcc_page(request, program, notice=notice)


@post("/mcc", opt=EDIT, status_code=200)
async def save_rule(request: Request) -> Template | Redirect:
    """Add or change the rule of an MCC or range (the multiplier typed as times)."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    form = {k: (posted.get(k) or "").strip() for k in ("mccs", "name", "multiplier")}
    errors: dict[str, str] = {}
    try:
        mcc.parse_range(form["mccs"])
    except MembershipError as exc:
        errors["mccs"] = _reason(request, exc)
    try:
        multiplier = percent_of_times(form["multiplier"], "multiplier")
    except MembershipError as exc:
        errors["multiplier"] = _reason(request, exc)
    if not form["name"]:
        errors["name"] = "Required" if _en(request) else "必填"
    if not errors:
        try:
            data = {"name": form["name"], "multiplier_pct": multiplier}
            rule = await mcc.save_rule(program.id, form["mccs"], data, request.state.staff.actor)
        except MembershipError as exc:
            errors["name"] = _reason(request, exc)
    if errors:
        return await _mcc_page(request, program, 422, errors, form)
    return Redirect(f"/console/finance/mcc?done={rule.mccs}", status_code=303)


@post("/mcc/remove", opt=EDIT, status_code=200)
async def remove_rule(request: Request) -> Template | Redirect:
    """Remove the rule of an MCC or range."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    mccs = ((await request.form()).get("mccs") or "").strip()
    try:
        await mcc.delete_rule(program.id, mccs)
    except MembershipError as exc:
        return await _mcc_page(request, program, exc.status, {"remove": _said(request, exc)})
    return Redirect(f"/console/finance/mcc?done={mccs}", status_code=303)


# -- 资产与等级 ---------------------------------------------------------------------------------------


async def _assets_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    errors: dict[str, str] | None = None,
    result: assets.FeedResult | None = None,
    month: str = "",
) -> Template:
    settings = settings_of(program)
    steps = [(least, code, assets.tier_name(program, code)) for least, code in reversed(settings.tier_steps())]
    return _page(
        request,
        "assets.html",
        program,
        status,
        tab="assets",
        settings=settings,
        steps=steps,
        feeds=await assets.recent_feeds(program.id),
        errors=errors or {},
        result=result,
        refused=[
            (line, who, reason.en if _en(request) else reason.zh)
            for line, who, reason in (result.refused if result else [])
        ][:200],
        month=month or previous_month(month_of(program, now())),
    )


@get("/assets", opt=LOOK)
async def assets_page(request: Request) -> Template:
    """资产与等级: the thresholds, a month's file to upload, the latest feeds."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    return await _assets_page(request, program)


@post("/assets", opt=EDIT, status_code=200, request_max_body_size=MAX_UPLOAD_BYTES)
async def upload_balances(request: Request) -> Template:
    """Feed a month's balances from a CSV file (member number or card, balance in yuan): lines
    that are fine are stored and their members re-evaluated, the others listed with why."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    posted = await request.form()
    typed = (posted.get("month") or "").strip()
    upload = posted.get("file")
    errors: dict[str, str] = {}
    try:
        month = parse_month(typed)
    except MembershipError as exc:
        errors["month"] = _reason(request, exc)
    if upload is None or not getattr(upload, "filename", ""):
        errors["file"] = "Choose a CSV file." if _en(request) else "请选择 CSV 文件。"
    if errors:
        if upload is not None and hasattr(upload, "close"):
            await upload.close()
        return await _assets_page(request, program, 422, errors, month=typed)
    try:
        lines = assets.parse_balances_file(await upload.read())
        result = await assets.feed_balances(program, month, lines, "file", request.state.staff.actor, upload.filename)
    except MembershipError as exc:
        return await _assets_page(request, program, 422, {"file": _reason(request, exc)}, month=typed)
    finally:
        await upload.close()
    return await _assets_page(request, program, result=result, month=month)


# -- 积分对账单 ---------------------------------------------------------------------------------------


@get("/statements", opt={"roles": ALL})
async def statements_page(request: Request) -> Template:
    """积分对账单: a member's statement of a month (default: last month) with its moves; the months
    built."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    query = request.query_params
    typed = query.get("q", "")
    errors: dict[str, str] = {}
    try:
        month = parse_month(query.get("month") or previous_month(month_of(program, now())))
    except MembershipError as exc:
        errors["month"], month = _reason(request, exc), previous_month(month_of(program, now()))
    member_id = await find_member(program, typed) if typed else None
    if typed and member_id is None:
        errors["q"] = _nobody(request)
    found = moves = member = None
    if member_id is not None and not errors:
        member = await get_member(member_id)
        found = await statements.statement(program, member_id, month)
        moves = await statements.lines(program, member_id, month)
    return _page(
        request,
        "statements.html",
        program,
        404 if "q" in errors else 422 if errors else 200,
        tab="statements",
        typed=typed,
        month=month,
        errors=errors,
        member=member,
        statement=found,
        moves=moves or [],
        categories=CATEGORIES,
        runs=await statements.last_runs(program.id),
        notice=_built_notice(request, query.get("done", "")),
    )


def _built_notice(request: Request, done: str) -> str:
    """``2026-11:300`` (what a build redirects with) as staff read it."""
    month, _, count = done.partition(":")
    if not count.isdigit():
        return ""
    return f"{count} statements of {month} built." if _en(request) else f"已生成 {month} 的对账单 {count} 份。"


@post("/statements/build", opt=EDIT, status_code=200)
async def build(request: Request) -> Template | Redirect:
    """Build (or rebuild) a month's statements for every member now."""
    program = await _program(request)
    if not plugin_enabled(program, NAME):
        return _off(request, program)
    typed = ((await request.form()).get("month") or "").strip()
    try:
        month = parse_month(typed)
    except MembershipError as exc:
        return _page(
            request,
            "statements.html",
            program,
            422,
            tab="statements",
            typed="",
            month=typed,
            errors={"build": _reason(request, exc)},
            member=None,
            statement=None,
            moves=[],
            categories=CATEGORIES,
            runs=await statements.last_runs(program.id),
        )
    built = await statements.build_month(program, month, request.state.staff.actor)
    return Redirect(f"/console/finance/statements?month={month}&done={month}:{built}", status_code=303)


@get("/finance.css", media_type="text/css", opt={"roles": ALL})
async def stylesheet() -> Response:
    """The pages' few styles of their own (a file of the pack: the console's policy runs no inline
    style)."""
    return Response((HERE / "static" / "finance.css").read_text(encoding="utf-8"), media_type="text/css")


ROUTER = Router(
    "/finance",
    route_handlers=[
        members_page,
        enrol,
        add_card,
        change_consent,
        mcc_page,
        save_rule,
        remove_rule,
        assets_page,
        upload_balances,
        statements_page,
        build,
        stylesheet,
    ],
)
PAGE = ConsolePage(
    "/finance", "银行卡会员", "Card members", ROUTER, roles=ALL, namespace="finance", templates=TEMPLATES
)
