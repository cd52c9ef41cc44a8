"""Console pages of member care: 满意度调查 (surveys: the list with each one's figures, a form per
survey, results by store, tier and week with the latest comments) and 服务工单 (tickets: a list
with filters and pages, a form to open one for a member, the ticket page with the member's
history, its own history, moves, comments and changes; the SLA hours). Every change goes
through the care use cases (checked, audited)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.care import surveys, tickets
from membership.care.errors import TicketNotFound
from membership.care.settings import KINDS, PRIORITIES, care_settings, change_care_settings
from membership.care.surveys import SurveyTerms
from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.db import fetch
from membership.errors import MembershipError, Reason, ValidationError
from membership.members import service as members
from membership.notifications.config import channel_class
from membership.notifications.templates import list_templates
from membership.org.service import ProgramConfig, list_stores
from membership.staff.roles import Permission, allows
from membership.staff.service import StaffInfo, list_staff
from membership.tiers.policy import tier_config

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
SERVE = {"permission": Permission.EDIT_MEMBERS}
PAGE_SIZE = 30


def _zh() -> bool:
    return i18n.current_language() == "zh_CN"


def _named(names: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {code: zh if _zh() else en for code, (zh, en) in names.items()}


# -- surveys ------------------------------------------------------------------------------------


@dataclasses.dataclass
class SurveyForm:
    """A survey as the form shows it: texts as typed."""

    code: str = ""
    name: str = ""
    kind: str = "nps"
    send_after: str = "purchase"
    question_zh: str = "您有多大可能向朋友推荐我们？"
    question_en: str = "How likely are you to recommend us to a friend?"
    template: str = surveys.INVITE_TEMPLATE
    channels: list[str] = dataclasses.field(default_factory=lambda: ["inbox"])
    delay_minutes: str = "120"
    sample_pct: str = "100"
    valid_days: str = "7"
    active: bool = True
    new: bool = True

    @classmethod
    def of(cls, row: dict[str, Any]) -> SurveyForm:
        """A stored survey."""
        terms = surveys.terms_of(row)
        return cls(
            row["code"],
            terms.name,
            terms.kind,
            terms.send_after,
            terms.question_zh,
            terms.question_en,
            terms.template,
            list(terms.channels),
            str(terms.delay_minutes),
            str(terms.sample_pct),
            str(terms.valid_days),
            terms.active,
            new=False,
        )


def _whole(field: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValidationError(field=field, reason=Reason("a whole number", "请填写整数")) from None


def _terms(form: SurveyForm) -> SurveyTerms:
    values = {
        "name": form.name.strip(),
        "kind": form.kind,
        "send_after": form.send_after,
        "question_zh": form.question_zh.strip(),
        "question_en": form.question_en.strip(),
        "template": form.template or surveys.INVITE_TEMPLATE,
        "channels": form.channels,
        "delay_minutes": _whole("delay_minutes", form.delay_minutes),
        "sample_pct": _whole("sample_pct", form.sample_pct),
        "valid_days": _whole("valid_days", form.valid_days),
        "active": form.active,
    }
    try:
        return msgspec.convert(values, SurveyTerms)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".").split("[")[0] or "survey", reason=text) from None


async def _channel_choices(program: ProgramConfig) -> list[tuple[str, str]]:
    rows = await fetch("SELECT channel FROM channel_config WHERE program_id = {} AND enabled = {}", program.id, True)
    found = []
    for row in rows:
        try:
            cls = channel_class(row["channel"])
        except MembershipError:
            continue
        found.append((row["channel"], cls.label_zh if _zh() else cls.label_en))
    return sorted(found)


async def _survey_form(request: Request, program: ProgramConfig, form: SurveyForm, status: int = 200, error: str = ""):
    templates, _ = await list_templates(program.id, 1, 200)
    return forms.page(
        request,
        "care/survey_form.html",
        "surveys",
        status,
        survey=form,
        channels=await _channel_choices(program),
        templates=[(t["code"], t["name"]) for t in templates],
        invite_template=surveys.INVITE_TEMPLATE,
        error=error,
    )


def _shown(f: surveys.Figures | None, kind: str) -> str:
    if f is None or not f.answers:
        return "–"
    shown = f.shown()
    return f"{shown['nps']}" if kind == "nps" else f"{shown['csat']}"


@get("/surveys", opt=CONFIGURE)
async def surveys_page(request: Request, done: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    """Every survey: what it asks, after what, its invitations and answers, its NPS or average."""
    program = await staff_program(current_staff(request))
    notices = {"saved": i18n.gettext("Survey saved."), "deleted": i18n.gettext("Survey removed.")}
    return await _surveys_list(request, program, max(1, page), notice=notices.get(done, ""))


async def _surveys_list(request: Request, program: ProgramConfig, page: int, status: int = 200, **notes: str):
    rows, total = await surveys.list_surveys(program.id, page, PAGE_SIZE)
    overall = {str(f.group): f for f in await surveys.figures(program.id, "survey")}
    listed = [{**row, "figure": _shown(overall.get(row["code"]), row["kind"])} for row in rows]
    pages = max(1, -(-total // PAGE_SIZE))
    return forms.page(
        request, "care/surveys.html", "surveys", status, surveys=listed, total=total, page=page, pages=pages, **notes
    )


@get("/surveys/new", opt=CONFIGURE)
async def new_survey(request: Request) -> Template:
    """An empty survey form (NPS after purchases, two hours later, through the inbox)."""
    program = await staff_program(current_staff(request))
    return await _survey_form(request, program, SurveyForm())


@get("/surveys/{code:str}", opt=CONFIGURE)
async def edit_survey(request: Request, code: FromPath[str]) -> Template:
    """A survey's form."""
    program = await staff_program(current_staff(request))
    return await _survey_form(request, program, SurveyForm.of(await surveys.survey_row(program.id, code)))


@post("/surveys", opt=CONFIGURE)
async def save_survey(request: Request) -> Any:
    """Add or change a survey; errors stay on the form."""
    staff = current_staff(request)
    program = await staff_program(staff)
    data = await request.form()
    form = SurveyForm(
        code=str(data.get("code", "")).strip(),
        name=str(data.get("name", "")),
        kind=str(data.get("kind", "nps")),
        send_after=str(data.get("send_after", "purchase")),
        question_zh=str(data.get("question_zh", "")),
        question_en=str(data.get("question_en", "")),
        template=str(data.get("template", "")),
        channels=list(data.getall("channels", [])),
        delay_minutes=str(data.get("delay_minutes", "0")),
        sample_pct=str(data.get("sample_pct", "100")),
        valid_days=str(data.get("valid_days", "7")),
        active=data.get("active") == "1",
        new=data.get("new") == "1",
    )
    try:
        if not surveys.CODE.match(form.code):
            raise ValidationError(field="code", reason=Reason("letters, digits, - _ .", "编码只能用字母、数字和 - _ ."))
        await surveys.save_survey(program.id, form.code, _terms(form), staff.actor, new=form.new)
    except MembershipError as exc:
        return await _survey_form(request, program, form, 422, forms.error_text(exc))
    return forms.done("/console/surveys", "saved")


@post("/surveys/{code:str}/delete", opt=CONFIGURE)
async def delete_survey(request: Request, code: FromPath[str]) -> Any:
    """Remove a survey that invited nobody (else: switch it off)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    confirmed = (await request.form()).get("confirm") == "yes"
    try:
        if not confirmed:
            return await _surveys_list(request, program, 1, 422, error=forms.not_confirmed())
        await surveys.delete_survey(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _surveys_list(request, program, 1, 409, error=forms.error_text(exc))
    return forms.done("/console/surveys", "deleted")


@get("/surveys/{code:str}/results", opt=CONFIGURE)
async def survey_results(request: Request, code: FromPath[str], page: FromQuery[int] = 1) -> Template:
    """A survey's figures: overall, by store, by tier and by week, and its latest answers."""
    program = await staff_program(current_staff(request))
    row = await surveys.survey_row(program.id, code)
    stores = {str(s["id"]): s["name"] for s in await list_stores(program.merchant_id)}
    tier_names = {t.code: t.name for t in tier_config(program.settings).tiers}
    groups = {}
    for by in ("store", "tier", "week"):
        groups[by] = [
            (_group_name(by, f.group, stores, tier_names), f) for f in await surveys.figures(program.id, by, code)
        ]
    overall = await surveys.figures(program.id, "", code)
    page = max(1, page)
    answers, total = await surveys.recent_answers(program.id, code, page, PAGE_SIZE)
    figure = "nps" if row["kind"] == "nps" else "csat"
    chart = {
        "weeks": [str(f.group) for _, f in groups["week"]],
        "values": [str(f.shown()[figure]) for _, f in groups["week"]],
        "label": "NPS" if figure == "nps" else i18n.gettext("Average score"),
        "min": -100 if figure == "nps" else 1,
        "max": 100 if figure == "nps" else 5,
    }
    return forms.page(
        request,
        "care/survey_results.html",
        "surveys",
        survey=row,
        invited=await surveys.invited(program.id, code),
        overall=overall[0] if overall else None,
        groups=groups,
        answers=answers,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        chart=chart,
    )


def _group_name(by: str, group: Any, stores: dict[str, str], tiers: dict[str, str]) -> str:
    if by == "store":
        return stores.get(str(group), i18n.gettext("No store")) if group else i18n.gettext("No store")
    if by == "tier":
        return tiers.get(str(group), str(group)) if group else i18n.gettext("No tier")
    return str(group)


# -- tickets ------------------------------------------------------------------------------------


def _ids(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text.strip() else None
    except ValueError:
        return None


async def _staff_choices(staff: StaffInfo) -> list[tuple[str, str]]:
    return [(str(s["id"]), s["display_name"]) for s in await list_staff(staff.merchant_id) if not s.get("disabled_at")]


def _names() -> dict[str, dict[str, str]]:
    return {
        "status": _named(tickets.STATUS_NAMES),
        "kind": _named(tickets.KIND_NAMES),
        "priority": _named(tickets.PRIORITY_NAMES),
    }


@get("/tickets", opt=SERVE)
async def tickets_page(
    request: Request,
    status: FromQuery[str] = "",
    kind: FromQuery[str] = "",
    priority: FromQuery[str] = "",
    assignee: FromQuery[str] = "",
    overdue: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    """Tickets newest first, filtered by status, kind, priority, assignee (or mine), overdue;
    the staff member's unread notices on top."""
    staff = current_staff(request)
    program = await staff_program(staff)
    assignee_id = staff.id if assignee == "me" else _ids(assignee)
    chosen = tickets.TicketFilter(
        status if status in tickets.STATUSES else None,
        kind if kind in KINDS else None,
        priority if priority in PRIORITIES else None,
        assignee_id,
        None,
        dt.datetime.now(dt.UTC) if overdue == "1" else None,
    )
    page = max(1, page)
    rows, total = await tickets.list_tickets(program.id, chosen, page, PAGE_SIZE)
    query = {"status": status, "kind": kind, "priority": priority, "assignee": assignee, "overdue": overdue}
    return forms.page(
        request,
        "care/tickets.html",
        "tickets",
        tickets=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=query,
        paging=urlencode({k: v for k, v in query.items() if v}),
        names=_names(),
        staff_choices=await _staff_choices(staff),
        notices=await tickets.staff_notices(staff.id),
        now=dt.datetime.now(dt.UTC),
    )


@dataclasses.dataclass
class TicketForm:
    """A new ticket as typed."""

    member: str = ""
    kind: str = "complaint"
    priority: str = "normal"
    subject: str = ""
    description: str = ""
    store: str = ""
    assignee: str = ""


async def _ticket_form(request: Request, form: TicketForm, status: int = 200, error: str = "") -> Template:
    staff = current_staff(request)
    return forms.page(
        request,
        "care/ticket_form.html",
        "tickets",
        status,
        form=form,
        names=_names(),
        stores=[(str(s["id"]), s["name"]) for s in await list_stores(staff.merchant_id)],
        staff_choices=await _staff_choices(staff),
        error=error,
    )


@get("/tickets/new", opt=SERVE)
async def new_ticket(request: Request, member: FromQuery[str] = "") -> Template:
    """The form for a new ticket (the member's number filled in when coming from their page)."""
    staff = current_staff(request)
    form = TicketForm(member=member, store=str(staff.store_id or ""))
    mid = _ids(member)
    if mid is not None:
        try:
            row = await members.member_row(mid)
            form.member = row["member_no"]
        except MembershipError:
            form.member = ""
    return await _ticket_form(request, form)


async def _member_by(program: ProgramConfig, text: str) -> uuid.UUID:
    """The member a member number or phone number names in the program."""
    text = text.strip()
    if not text:
        raise ValidationError(field="member", reason=Reason("required", "请填写会员号或手机号"))
    rows = await fetch("SELECT id FROM member WHERE program_id = {} AND member_no = {}", program.id, text)
    if rows:
        return uuid.UUID(str(rows[0]["id"]))
    try:
        return await members.identify(program.id, "phone", text)
    except MembershipError:
        raise ValidationError(
            field="member", reason=Reason("no member with this number or phone", "没有这个会员号或手机号的会员")
        ) from None


@post("/tickets", opt=SERVE)
async def open_ticket(request: Request) -> Any:
    """Open a ticket for the member named; errors stay on the form."""
    staff = current_staff(request)
    program = await staff_program(staff)
    data = await request.form()
    form = TicketForm(**{f: str(data.get(f, "")) for f in TicketForm.__dataclass_fields__})
    try:
        member_id = await _member_by(program, form.member)
        row = await tickets.open_ticket(
            program.id,
            member_id,
            form.kind,
            form.subject,
            form.description,
            form.priority,
            _ids(form.store),
            _ids(form.assignee),
            staff.actor,
        )
    except MembershipError as exc:
        return await _ticket_form(request, form, 422, forms.error_text(exc))
    return forms.done(f"/console/tickets/{row['id']}", "opened")


async def _ticket_page(
    request: Request, ticket_id: uuid.UUID, status: int = 200, error: str = "", notice: str = ""
) -> Template:
    staff = current_staff(request)
    program = await staff_program(staff)
    row = await tickets.ticket_row(ticket_id, {program.id})
    await tickets.read_notices(staff.id, ticket_id)
    member = await members.get_member(uuid.UUID(str(row["member_id"])))
    moves = [name for name, move in tickets.ACTIONS.items() if row["status"] in move.since]
    move_names = {
        "start": i18n.gettext("Start handling"),
        "resolve": i18n.gettext("Mark resolved"),
        "close": i18n.gettext("Close"),
        "reopen": i18n.gettext("Reopen"),
    }
    return forms.page(
        request,
        "care/ticket.html",
        "tickets",
        status,
        ticket=row,
        member=member,
        may_reveal=allows(staff.role, Permission.REVEAL_PERSONAL_DATA),
        history=await tickets.history(ticket_id),
        member_history=await tickets.member_history(program.id, member.id, ticket_id),
        moves=[(m, move_names[m]) for m in moves],
        names=_names(),
        staff_choices=await _staff_choices(staff),
        currency=program.currency,
        now=dt.datetime.now(dt.UTC),
        error=error,
        notice=notice,
    )


@get("/tickets/{ticket_id:uuid}", opt=SERVE)
async def ticket_page(request: Request, ticket_id: FromPath[uuid.UUID], done: FromQuery[str] = "") -> Template:
    """The ticket: its member (phone masked; revealed, audited, for the roles that may), their
    purchases, points, coupons and other tickets, the ticket's history and what can be done."""
    notices = {
        "opened": i18n.gettext("Ticket opened."),
        "moved": i18n.gettext("Status changed."),
        "commented": i18n.gettext("Comment added."),
        "changed": i18n.gettext("Ticket changed."),
    }
    return await _ticket_page(request, ticket_id, notice=notices.get(done, ""))


async def _act(request: Request, ticket_id: uuid.UUID, done: str, action) -> Any:
    staff = current_staff(request)
    program = await staff_program(staff)
    data = await request.form()
    try:
        await action(program, staff, data)
    except TicketNotFound:
        raise
    except MembershipError as exc:
        return await _ticket_page(request, ticket_id, 422, forms.error_text(exc))
    return forms.done(f"/console/tickets/{ticket_id}", done)


@post("/tickets/{ticket_id:uuid}/move", opt=SERVE)
async def move_ticket(request: Request, ticket_id: FromPath[uuid.UUID]) -> Any:
    """Start, resolve, close or reopen, with an optional note."""

    async def action(program, staff, data):
        await tickets.move_ticket(
            program.id, ticket_id, str(data.get("action", "")), staff.actor, str(data.get("note", ""))
        )

    return await _act(request, ticket_id, "moved", action)


@post("/tickets/{ticket_id:uuid}/comment", opt=SERVE)
async def comment_ticket(request: Request, ticket_id: FromPath[uuid.UUID]) -> Any:
    """A comment in the ticket's history."""

    async def action(program, staff, data):
        await tickets.comment(program.id, ticket_id, str(data.get("body", "")), staff.actor)

    return await _act(request, ticket_id, "commented", action)


@post("/tickets/{ticket_id:uuid}/change", opt=SERVE)
async def change_ticket(request: Request, ticket_id: FromPath[uuid.UUID]) -> Any:
    """A new priority or assignee."""

    async def action(program, staff, data):
        changes = {"priority": str(data.get("priority", "")), "assignee_id": _ids(str(data.get("assignee", "")))}
        await tickets.change_ticket(program.id, ticket_id, changes, staff.actor)

    return await _act(request, ticket_id, "changed", action)


def _hours(kind: str, priority: str, text: str) -> int:
    """SLA hours typed for one kind and priority: a whole number from 1 to 2,160 (90 days)."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= 24 * 90:
        return int(text)
    (kind_zh, kind_en), (priority_zh, priority_en) = tickets.KIND_NAMES[kind], tickets.PRIORITY_NAMES[priority]
    raise ValidationError(
        field="hours",
        reason=Reason(
            f"{kind_en}, {priority_en.lower()}: a whole number of hours from 1 to 2160",
            f"{kind_zh}（{priority_zh}）：请填写 1 到 2160 之间的整数小时",
        ),
    )


def _sla_rows(values: dict[str, dict[str, Any]]) -> list[tuple[str, str, list[tuple[str, str, Any]]]]:
    kinds, priorities = _named(tickets.KIND_NAMES), _named(tickets.PRIORITY_NAMES)
    return [(k, kinds[k], [(p, priorities[p], values[k][p]) for p in PRIORITIES]) for k in KINDS]


@get("/tickets/settings", opt=CONFIGURE)
async def sla_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The response-time SLA hours per ticket kind and priority."""
    program = await staff_program(current_staff(request))
    values = msgspec.to_builtins(care_settings(program))
    notice = i18n.gettext("Response times saved.") if done == "saved" else ""
    return forms.page(request, "care/sla.html", "tickets", rows=_sla_rows(values), notice=notice)


@post("/tickets/settings", opt=CONFIGURE)
async def save_sla(request: Request) -> Any:
    """Save the SLA hours (whole hours from 1); errors stay on the form."""
    staff = current_staff(request)
    program = await staff_program(staff)
    data = await request.form()
    typed = {k: {p: str(data.get(f"{k}-{p}", "")) for p in PRIORITIES} for k in KINDS}
    try:
        values = {k: {p: _hours(k, p, v) for p, v in row.items()} for k, row in typed.items()}
        await change_care_settings(program.id, values, staff.actor)
    except MembershipError as exc:
        page = forms.page(request, "care/sla.html", "tickets", 422, rows=_sla_rows(typed), error=forms.error_text(exc))
        return page
    return forms.done("/console/tickets/settings", "saved")


ROUTES = [
    surveys_page,
    new_survey,
    edit_survey,
    save_survey,
    delete_survey,
    survey_results,
    tickets_page,
    new_ticket,
    open_ticket,
    sla_page,
    save_sla,
    ticket_page,
    move_ticket,
    comment_ticket,
    change_ticket,
]
