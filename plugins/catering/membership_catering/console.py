"""The pack's console pages, in Chinese and English (the staff member's language), with forms for
shop staff (amounts in yuan):

* 集点卡 ``/console/catering/stamp-schemes`` — the program's stamp cards, added and changed in a form;
* 餐饮积分规则 ``/console/catering/dining-rules`` — points by meal period, service mode, party size
  and per-head spend;
* 会员口味与集点 ``/console/catering/guests`` — find a member by phone or card: tastes, allergies and
  a note (editable), stamp cards, latest meals, favourite dishes;
* 餐饮报表 ``/console/catering/reports`` — visit frequency, per-head spend, favourite dishes, by
  store or member.

Each page works on the staff member's program and says so when the pack is off for it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar import Request, route
from litestar.enums import HttpMethod, MediaType
from litestar.response import Redirect, Template

from membership.plugin import (
    ConsolePage,
    MembershipError,
    NotFound,
    ProgramConfig,
    coupon_templates,
    get_member,
    identify,
    plugin_enabled,
    staff_program,
)
from membership_catering import dining_rules, preferences, reports, stamps, visits
from membership_catering.dining import MEAL_PERIODS, SERVICE_MODES, name_of
from membership_catering.settings import NAME
from membership_catering.values import fen_of, words, yuan

TEMPLATES = Path(__file__).parent / "templates"
GET_POST = [HttpMethod.GET, HttpMethod.POST]
FIND_KINDS = ("phone", "card_uid", "qr_token", "barcode", "magstripe")


def _lang(request: Request) -> str:
    return "en" if getattr(request.state.staff, "language", "") == "en" else "zh_CN"


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Template:
    """A pack page for the logged-in staff member, with the words of their language."""
    lang = _lang(request)

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    base = {
        "staff": request.state.staff,
        "active": "",
        "error": "",
        "notice": "",
        "t": t,
        "lang": lang,
        "yuan": yuan,
        "named": lambda code: name_of(code, lang),
    }
    return Template(f"catering/{template}", context={**base, **context}, status_code=status, media_type=MediaType.HTML)


def _error(request: Request, error: MembershipError) -> str:
    return error.detail("en" if _lang(request) == "en" else "zh")


async def _program(request: Request) -> ProgramConfig | None:
    """The staff member's program, or None when the pack is off for it."""
    program = await staff_program(request.state.staff)
    return program if plugin_enabled(program, NAME) else None


def _off(request: Request) -> Template:
    return _page(request, "off.html", 409)


def _lines(text: str) -> list[str]:
    return words(text, limit=200, longest=64)


def _whole(text: str, default: int | None = 0) -> int | None:
    text = (text or "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() else -1  # refused by the terms' bounds, shown as typed


# -- stamp cards -----------------------------------------------------------------------------------


def _scheme_form(form: Any) -> dict[str, Any]:
    starts = (form.get("starts_on") or "").strip()
    return {
        "name": (form.get("name") or "").strip(),
        "skus": _lines(form.get("skus", "")),
        "categories": _lines(form.get("categories", "")),
        "labels": _lines(form.get("labels", "")),
        "stamps_per_item": _whole(form.get("stamps_per_item", ""), 1),
        "stamps_needed": _whole(form.get("stamps_needed", ""), 10),
        "reward_template": (form.get("reward_template") or "").strip(),
        "valid_days": _whole(form.get("valid_days", ""), None),
        "starts_on": starts or None,
        "active": form.get("active") == "1",
    }


@route("/catering/stamp-schemes", http_method=GET_POST)
async def stamp_schemes_page(request: Request) -> Template | Redirect:
    """The program's stamp cards and a form to add or change one."""
    program = await _program(request)
    if program is None:
        return _off(request)
    form: dict[str, Any] = {}
    error, status = "", 200
    if request.method == HttpMethod.POST:
        posted = await request.form()
        code = (posted.get("code") or "").strip()
        form = {"code": code, **{k: posted.get(k, "") for k in posted}, "active": posted.get("active") == "1"}
        try:
            await stamps.save_scheme(program.id, code, _scheme_form(posted), request.state.staff.actor)
        except MembershipError as exc:
            error, status = _error(request, exc), 422
        else:
            return Redirect(f"/console/catering/stamp-schemes?done={code}", status_code=303)
    schemes = await stamps.list_schemes(program.id)
    edit = request.query_params.get("edit", "")
    if not form and edit:
        found = next((s for s in schemes if s["code"] == edit), None)
        if found:
            form = {
                **found,
                "skus": "\n".join(found["skus"]),
                "categories": "\n".join(found["categories"]),
                "labels": "\n".join(found["labels"]),
                "valid_days": found["valid_days"] or "",
                "starts_on": found["starts_at"].astimezone(program.zone).date().isoformat(),
            }
    templates, _ = await coupon_templates(program.id, False, 1, 1000)
    return _page(
        request,
        "stamp_schemes.html",
        status,
        program=program,
        schemes=schemes,
        templates=templates,
        form=form,
        error=error,
        notice=request.query_params.get("done", ""),
    )


# -- dining rules ----------------------------------------------------------------------------------


def _rule_form(form: Any) -> dict[str, Any]:
    return {
        "name": (form.get("name") or "").strip(),
        "meal_periods": [m for m in form.getall("meal_periods", []) if m],
        "service_modes": [m for m in form.getall("service_modes", []) if m],
        "min_party_size": _whole(form.get("min_party_size", "")),
        "min_per_head": fen_of(form.get("min_per_head", ""), "min_per_head"),
        "multiplier_pct": _whole(form.get("multiplier_pct", ""), 100),
        "bonus_points": _whole(form.get("bonus_points", "")),
        "active": form.get("active") == "1",
    }


@route("/catering/dining-rules", http_method=GET_POST)
async def dining_rules_page(request: Request) -> Template | Redirect:
    """The program's dining rules and a form to add or change one."""
    program = await _program(request)
    if program is None:
        return _off(request)
    form: dict[str, Any] = {}
    error, status = "", 200
    if request.method == HttpMethod.POST:
        posted = await request.form()
        code = (posted.get("code") or "").strip()
        form = {
            **{k: posted.get(k, "") for k in posted},
            "code": code,
            "meal_periods": posted.getall("meal_periods", []),
            "service_modes": posted.getall("service_modes", []),
            "active": posted.get("active") == "1",
        }
        try:
            await dining_rules.save_rule(program.id, code, _rule_form(posted), request.state.staff.actor)
        except MembershipError as exc:
            error, status = _error(request, exc), 422
        else:
            return Redirect(f"/console/catering/dining-rules?done={code}", status_code=303)
    rules = await dining_rules.list_rules(program.id)
    edit = request.query_params.get("edit", "")
    if not form and edit:
        found = next((r for r in rules if r["code"] == edit), None)
        if found:
            form = {**found, "min_per_head": yuan(found["min_per_head"]) if found["min_per_head"] else ""}
    return _page(
        request,
        "dining_rules.html",
        status,
        program=program,
        rules=rules,
        form=form,
        meal_periods=MEAL_PERIODS,
        service_modes=SERVICE_MODES,
        error=error,
        notice=request.query_params.get("done", ""),
    )


# -- a member's tastes, allergies, cards and meals ---------------------------------------------------


async def _find(program: ProgramConfig, text: str) -> uuid.UUID | None:
    """The member a typed id, phone number or card belongs to, in the program; None if nobody."""
    text = text.strip()
    if not text:
        return None
    try:
        member_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        return member_id if await _of_program(program, member_id) else None
    for kind in FIND_KINDS:
        try:
            return await identify(program.id, kind, text)
        except MembershipError:
            continue
    return None


async def _of_program(program: ProgramConfig, member_id: uuid.UUID) -> bool:
    try:
        member = await get_member(member_id)
    except NotFound:
        return False
    return member.program_id == program.id


@route("/catering/guests", http_method=GET_POST)
async def guests_page(request: Request) -> Template | Redirect:
    """Find a member; their tastes and allergies (a form), stamp cards, meals and dishes."""
    program = await _program(request)
    if program is None:
        return _off(request)
    error, status, notice = "", 200, ""
    query = request.query_params
    typed = query.get("q", "")
    member_id = await _find(program, query.get("member", "") or typed)
    if request.method == HttpMethod.POST:
        posted = await request.form()
        member_id = await _find(program, posted.get("member", ""))
        if member_id is None:
            error, status = _error(request, _NoSuchMember()), 404
        else:
            try:
                data = {
                    "tastes": words(posted.get("tastes", ""), 20),
                    "allergies": words(posted.get("allergies", ""), 20),
                    "note": posted.get("note", ""),
                }
                await preferences.save_preferences(program.id, member_id, data, request.state.staff.actor)
            except MembershipError as exc:
                error, status = _error(request, exc), 422
            else:
                return Redirect(f"/console/catering/guests?member={member_id}&done=1", status_code=303)
    elif typed and member_id is None:
        error, status = _error(request, _NoSuchMember()), 404
    if query.get("done"):
        notice = "saved"
    context: dict[str, Any] = {"program": program, "typed": typed, "member": None}
    if member_id is not None:
        result = await reports.run_report(program.id, "catering_dishes", {"by": "member", "member_id": member_id})
        context |= {
            "member": await get_member(member_id),
            "prefs": await preferences.get_preferences(member_id),
            "cards": await stamps.member_cards(program.id, member_id),
            "meals": await visits.member_visits(member_id, 10),
            "dishes": result.as_dicts(),
        }
    return _page(
        request,
        "guests.html",
        status,
        error=error,
        notice=notice,
        tastes=preferences.TASTES,
        allergens=preferences.ALLERGENS,
        **context,
    )


class _NoSuchMember(NotFound):
    code = "member_not_found"
    message_en = "No member of this program has that phone number, card or id."
    message_zh = "本方案没有使用该手机号、卡号或编号的会员。"


# -- reports ----------------------------------------------------------------------------------------

REPORT_VIEWS = {
    "catering_visits": ("store", "member", "frequency"),
    "catering_per_head": ("store", "meal", "member"),
    "catering_dishes": ("store", "member"),
}
MONEY_COLUMNS = {"spend", "per_head", "amount"}


@route("/catering/reports", http_method=[HttpMethod.GET])
async def reports_page(request: Request) -> Template:
    """A catering report as a table: which one, by what, over how many months."""
    program = await _program(request)
    if program is None:
        return _off(request)
    query = request.query_params
    name = query.get("report", "catering_visits")
    if name not in REPORT_VIEWS:
        name = "catering_visits"
    by = query.get("by", REPORT_VIEWS[name][0])
    if by not in REPORT_VIEWS[name]:
        by = REPORT_VIEWS[name][0]
    months = _whole(query.get("months", ""), 3)
    months = months if months is not None and 0 <= months <= 600 else 3
    result = await reports.run_report(program.id, name, {"by": by, "months": months})
    return _page(
        request,
        "reports.html",
        program=program,
        views=REPORT_VIEWS,
        titles={n: (r.title_zh, r.title_en) for n, r in reports.REPORTS.items()},
        name=name,
        by=by,
        months=months,
        result=result,
        money_columns=MONEY_COLUMNS,
    )


def pages() -> list[ConsolePage]:
    """The pack's pages for the console menu (who may open each)."""
    common = {"namespace": "catering", "templates": TEMPLATES}
    return [
        ConsolePage(
            "/catering/stamp-schemes", "集点卡", "Stamp cards", stamp_schemes_page, ("owner", "manager"), **common
        ),
        ConsolePage(
            "/catering/dining-rules", "餐饮积分规则", "Dining rules", dining_rules_page, ("owner", "manager"), **common
        ),
        ConsolePage(
            "/catering/guests", "会员口味与集点", "Guest tastes", guests_page, ("owner", "manager", "clerk"), **common
        ),
        ConsolePage(
            "/catering/reports", "餐饮报表", "Dining reports", reports_page, ("owner", "manager", "analyst"), **common
        ),
    ]
