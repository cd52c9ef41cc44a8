"""REST routes of member care: surveys (definitions, results), the public answer endpoint,
service tickets (open, list, change, move, comment) and the care settings (SLA hours)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.analytics.filters import period
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize, check_body_code
from membership.api.security import current_key, member_for, program_for
from membership.care import surveys, tickets
from membership.care.errors import TicketNotFound
from membership.care.settings import CareSettings, care_settings, change_care_settings
from membership.care.surveys import Code, SurveyTerms
from membership.errors import MemberNotFound, Reason, ValidationError
from membership.members import service as members
from membership.org.service import get_program

TAGS = ["care"]


# -- surveys ------------------------------------------------------------------------------------


class SurveyIn(SurveyTerms, frozen=True, kw_only=True):
    """A survey (``code`` for a new one): what it asks, after what, how often, through what."""

    code: Code | None = None


class SurveyOut(msgspec.Struct):
    """A survey as stored, with its invitations and answers so far."""

    code: str
    terms: dict[str, Any]
    invited: int
    answered: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SurveyPageOut(msgspec.Struct):
    """One page of surveys by code."""

    items: list[SurveyOut]
    page: int
    page_size: int
    total: int


class GroupFigures(msgspec.Struct):
    """One group's answers. ``group``: the store id, the tier, the week's Monday, or null for
    all. NPS and the percentages are rounded to one decimal, the average to two, from exact
    fractions of the counts (text, never a float)."""

    group: str | None
    answers: int
    promoters: int
    passives: int
    detractors: int
    satisfied: int
    score_sum: int
    nps: str | None
    csat: str | None
    satisfied_pct: str | None


class ResultsOut(msgspec.Struct):
    """A survey's results: members invited, all answers, and the answers per group."""

    kind: str
    invited: int
    overall: GroupFigures
    by: str
    groups: list[GroupFigures]


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member's answer: the score (0–10 for NPS, 1–5 for CSAT) and an optional comment."""

    score: int
    comment: Annotated[str, msgspec.Meta(max_length=surveys.COMMENT_MAX)] = ""


class AnswerOut(msgspec.Struct):
    """``recorded``; or why nothing was: ``answered`` (the first answer stays), ``expired``."""

    outcome: str


SURVEY_EXAMPLE = {
    "code": "after-visit",
    "name": "到店体验",
    "kind": "nps",
    "send_after": "purchase",
    "question_zh": "您有多大可能向朋友推荐我们？",
    "question_en": "How likely are you to recommend us to a friend?",
    "channels": ["inbox"],
    "delay_minutes": 120,
    "sample_pct": 30,
    "valid_days": 7,
}
SURVEY_OUT = {
    "code": "after-visit",
    "terms": {**{k: v for k, v in SURVEY_EXAMPLE.items() if k != "code"}, "template": "survey-invite", "active": True},
    "invited": 120,
    "answered": 41,
    "created_at": "2026-12-10T09:00:00Z",
    "updated_at": "2026-12-10T09:00:00Z",
}
FIGURES_EXAMPLE = {
    "group": None,
    "answers": 41,
    "promoters": 20,
    "passives": 12,
    "detractors": 9,
    "satisfied": 0,
    "score_sum": 318,
    "nps": "26.8",
    "csat": "7.76",
    "satisfied_pct": "0.0",
}


def _survey_out(row: dict[str, Any]) -> SurveyOut:
    terms = msgspec.to_builtins(surveys.terms_of(row))
    return SurveyOut(
        row["code"],
        terms,
        int(row.get("invited") or 0),
        int(row.get("answered") or 0),
        row["created_at"],
        row["updated_at"],
    )


def _terms(data: SurveyIn) -> SurveyTerms:
    return msgspec.convert({k: v for k, v in msgspec.to_builtins(data).items() if k != "code"}, SurveyTerms)


def _figures(f: surveys.Figures) -> GroupFigures:
    shown = {k: None if v is None else str(v) for k, v in f.shown().items()}
    group = None if f.group is None else str(f.group)
    return GroupFigures(group, f.answers, f.promoters, f.passives, f.detractors, f.satisfied, f.score_sum, **shown)


@get(
    "/programs/{program_id:uuid}/surveys",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Satisfaction surveys (满意度调查)",
    responses=answers(200, SurveyPageOut, {"items": [SURVEY_OUT], "page": 1, "page_size": 50, "total": 1}, 403, 404),
)
async def list_surveys(
    request: Request, program_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> SurveyPageOut:
    """By code, each with its invitations and answers so far."""
    program = await program_for(current_key(request), program_id)
    rows, total = await surveys.list_surveys(program.id, page, page_size)
    return SurveyPageOut([_survey_out(row) for row in rows], page, page_size, total)


@post(
    "/programs/{program_id:uuid}/surveys",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a survey",
    responses=answers(201, SurveyOut, SURVEY_OUT, 403, 404, 409, 422, description="Created"),
)
async def add_survey(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[SurveyIn, body(SURVEY_EXAMPLE)]
) -> SurveyOut:
    """Checked (its channels set up, its template the program's; ``survey-invite`` is made when
    missing); audited. An active purchase survey turns the after-purchase survey plugin on."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=Reason("required for a new survey", "新建调查时必填"))
    return _survey_out(await surveys.save_survey(program.id, data.code, _terms(data), key.actor, new=True))


@get(
    "/programs/{program_id:uuid}/surveys/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One survey",
    responses=answers(200, SurveyOut, SURVEY_OUT, 403, 404),
)
async def get_survey(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> SurveyOut:
    """As stored."""
    program = await program_for(current_key(request), program_id)
    row = await surveys.survey_row(program.id, code)
    return _survey_out({**row, "invited": await surveys.invited(program.id, code), "answered": None})


@put(
    "/programs/{program_id:uuid}/surveys/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a survey (or switch it off: active false)",
    responses=answers(200, SurveyOut, SURVEY_OUT, 403, 404, 422),
)
async def change_survey(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[SurveyIn, body(SURVEY_EXAMPLE)],
) -> SurveyOut:
    """Invitations already sent stay answerable; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    check_body_code(data.code, code, Reason("survey", "满意度调查"))
    return _survey_out(await surveys.save_survey(program.id, code, _terms(data), key.actor, new=False))


@delete(
    "/programs/{program_id:uuid}/surveys/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Remove a survey that invited nobody",
    responses=answers(204, None, None, 403, 404, 409, description="Removed"),
)
async def delete_survey(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """A survey with invitations keeps its answers (409): switch it off instead; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await surveys.delete_survey(program.id, code, key.actor)


@get(
    "/programs/{program_id:uuid}/surveys/{code:str}/results",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A survey's results: NPS or CSAT, by store, tier or week",
    responses=answers(
        200,
        ResultsOut,
        {"kind": "nps", "invited": 120, "overall": FIGURES_EXAMPLE, "by": "store", "groups": [FIGURES_EXAMPLE]},
        403,
        404,
        422,
    ),
)
async def survey_results(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    by: FromQuery[Literal["store", "tier", "week"]] = "week",
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
) -> ResultsOut:
    """Answers given from ``start`` to ``end`` (local dates, inclusive), counted per group. NPS =
    % promoters (9–10) − % detractors (0–6); CSAT: the average score and % satisfied (4–5)."""
    program = await program_for(current_key(request), program_id)
    row = await surveys.survey_row(program.id, code)
    chosen = period(program, {"start": start, "end": end})
    overall = await surveys.figures(program.id, "", code, chosen.since, chosen.until)
    groups = await surveys.figures(program.id, by, code, chosen.since, chosen.until)
    empty = surveys.Figures(None, 0, 0, 0, 0, 0)
    return ResultsOut(
        row["kind"],
        await surveys.invited(program.id, code),
        _figures(overall[0] if overall else empty),
        by,
        [_figures(f) for f in groups],
    )


@post(
    "/survey-answers/{token:str}",
    opt={"public": True},
    security=[{}],
    tags=TAGS,
    status_code=200,
    summary="A member's answer through their invitation link (no key: the token is the proof)",
    responses={
        **answers(200, AnswerOut, {"outcome": "recorded"}, 422, auth=False),
        **answers(404, AnswerOut, {"outcome": "invalid"}, auth=False, description="No such invitation"),
        **answers(409, AnswerOut, {"outcome": "answered"}, auth=False, description="Answered before"),
        **answers(410, AnswerOut, {"outcome": "expired"}, auth=False, description="Expired"),
    },
)
async def answer_survey(
    token: FromPath[str], data: Annotated[AnswerIn, body({"score": 9, "comment": "咖啡很好喝"})]
) -> Response[AnswerOut]:
    """For an app showing the question itself: the same rules as the answer page (once, before
    the link expires, a score on the survey's scale)."""
    outcome = await surveys.answer(token, data.score, data.comment)
    status = {"recorded": 200, "answered": 409, "expired": 410, "invalid": 404}[outcome]
    return Response(AnswerOut(outcome), status_code=status)


# -- tickets ------------------------------------------------------------------------------------

Kind = Literal["complaint", "enquiry", "suggestion"]
Priority = Literal["urgent", "high", "normal", "low"]
Status = Literal["open", "in_progress", "resolved", "closed"]


class TicketIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new ticket for a member: its kind, subject, description, priority, the store it is
    about and who handles it (a staff member's id)."""

    member_id: uuid.UUID
    kind: Kind
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=tickets.SUBJECT_MAX)]
    description: Annotated[str, msgspec.Meta(max_length=tickets.TEXT_MAX)] = ""
    priority: Priority = "normal"
    store_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None


class TicketChange(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What to change (fields left out stay); ``assignee_id`` null: nobody."""

    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=tickets.SUBJECT_MAX)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    description: Annotated[str, msgspec.Meta(max_length=tickets.TEXT_MAX)] | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    assignee_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    """``start`` (open → in progress), ``resolve``, ``close``, ``reopen``; an optional note."""

    action: Literal["start", "resolve", "close", "reopen"]
    note: Annotated[str, msgspec.Meta(max_length=tickets.TEXT_MAX)] = ""


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A comment for the ticket's history."""

    body: Annotated[str, msgspec.Meta(min_length=1, max_length=tickets.TEXT_MAX)]


class EntryOut(msgspec.Struct):
    """A line of a ticket's history."""

    kind: str
    from_status: str
    to_status: str
    body: str
    actor: str
    at: dt.datetime


class TicketOut(msgspec.Struct):
    """A ticket, its member (phone masked) and, for one ticket, its history."""

    id: uuid.UUID
    number: int
    program_id: uuid.UUID
    member_id: uuid.UUID
    member_no: str
    member_name: str
    member_phone: str | None
    store_id: uuid.UUID | None
    kind: str
    subject: str
    description: str
    priority: str
    status: str
    assignee_id: uuid.UUID | None
    assignee: str | None
    created_by: str
    created_at: dt.datetime
    respond_by: dt.datetime
    responded_at: dt.datetime | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    history: list[EntryOut] = []


class TicketListItem(msgspec.Struct):
    """A ticket in a list."""

    id: uuid.UUID
    number: int
    kind: str
    subject: str
    priority: str
    status: str
    member_id: uuid.UUID
    member_no: str
    member_name: str
    assignee: str | None
    created_at: dt.datetime
    respond_by: dt.datetime
    responded_at: dt.datetime | None
    escalated_at: dt.datetime | None


class TicketPageOut(msgspec.Struct):
    """One page of tickets, newest first."""

    items: list[TicketListItem]
    page: int
    page_size: int
    total: int


TICKET_EXAMPLE = {
    "member_id": "0193a1b2-0000-7000-8000-000000000001",
    "kind": "complaint",
    "subject": "咖啡送错了",
    "description": "点的拿铁，拿到的是美式。",
    "priority": "high",
}
TICKET_OUT = {
    "id": "0193a1b2-0000-7000-8000-0000000000aa",
    "number": 17,
    "program_id": "0193a1b2-0000-7000-8000-0000000000bb",
    "member_id": "0193a1b2-0000-7000-8000-000000000001",
    "member_no": "M000017",
    "member_name": "王芳",
    "member_phone": "139****0401",
    "store_id": None,
    "kind": "complaint",
    "subject": "咖啡送错了",
    "description": "点的拿铁，拿到的是美式。",
    "priority": "high",
    "status": "open",
    "assignee_id": None,
    "assignee": None,
    "created_by": "api-key:app",
    "created_at": "2026-12-10T09:00:00Z",
    "respond_by": "2026-12-10T13:00:00Z",
    "responded_at": None,
    "escalated_at": None,
    "resolved_at": None,
    "closed_at": None,
    "history": [],
}


async def _ticket_out(row: dict[str, Any]) -> TicketOut:
    member = (await members.get_member(uuid.UUID(str(row["member_id"])))).phone  # masked
    history = [EntryOut(**{f: e[f] for f in EntryOut.__struct_fields__}) for e in await tickets.history(row["id"])]
    fields = {f: row[f] for f in TicketOut.__struct_fields__ if f in row and f not in ("member_phone", "history")}
    return TicketOut(**fields, member_phone=member, history=history)


async def _ticket_for(request: Request, ticket_id: uuid.UUID) -> dict[str, Any]:
    """The ticket, when the key's merchant owns its program; else ``TicketNotFound``."""
    key = current_key(request)
    row = await tickets.ticket_row(ticket_id)
    program = await get_program(uuid.UUID(str(row["program_id"])))
    if key.merchant_id is not None and program.merchant_id != key.merchant_id:
        raise TicketNotFound(ticket=str(ticket_id))
    return row


@get(
    "/programs/{program_id:uuid}/tickets",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Service tickets (服务工单), newest first",
    responses=answers(200, TicketPageOut, {"items": [], "page": 1, "page_size": 50, "total": 0}, 403, 404, 422),
)
async def list_tickets(
    request: Request,
    program_id: FromPath[uuid.UUID],
    status: FromQuery[Status | None] = None,
    kind: FromQuery[Kind | None] = None,
    priority: FromQuery[Priority | None] = None,
    assignee_id: FromQuery[uuid.UUID | None] = None,
    member_id: FromQuery[uuid.UUID | None] = None,
    overdue: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> TicketPageOut:
    """Narrowed by status, kind, priority, assignee, member; ``overdue``: unanswered past their
    response time now."""
    program = await program_for(current_key(request), program_id)
    chosen = tickets.TicketFilter(
        status, kind, priority, assignee_id, member_id, dt.datetime.now(dt.UTC) if overdue else None
    )
    rows, total = await tickets.list_tickets(program.id, chosen, page, page_size)
    items = [TicketListItem(**{f: r[f] for f in TicketListItem.__struct_fields__}) for r in rows]
    return TicketPageOut(items, page, page_size, total)


@post(
    "/programs/{program_id:uuid}/tickets",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Open a service ticket for a member",
    responses=answers(201, TicketOut, TICKET_OUT, 403, 404, 422, description="Created"),
)
async def open_ticket(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[TicketIn, body(TICKET_EXAMPLE)]
) -> TicketOut:
    """Numbered next in the program; to be answered within the SLA hours of its kind and
    priority (``GET …/care-settings``); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    member = await member_for(key, data.member_id)
    if str(member["program_id"]) != str(program.id):
        raise MemberNotFound(member_id=data.member_id)
    store = data.store_id or key.store_id
    row = await tickets.open_ticket(
        program.id,
        data.member_id,
        data.kind,
        data.subject,
        data.description,
        data.priority,
        store,
        data.assignee_id,
        key.actor,
    )
    return await _ticket_out(row)


@get(
    "/tickets/{ticket_id:uuid}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One ticket with its history",
    responses=answers(200, TicketOut, TICKET_OUT, 403, 404),
)
async def get_ticket(request: Request, ticket_id: FromPath[uuid.UUID]) -> TicketOut:
    """The member's phone masked."""
    return await _ticket_out(await _ticket_for(request, ticket_id))


@patch(
    "/tickets/{ticket_id:uuid}",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Change a ticket's subject, description, priority or assignee",
    responses=answers(200, TicketOut, TICKET_OUT, 403, 404, 422),
)
async def change_ticket(
    request: Request, ticket_id: FromPath[uuid.UUID], data: Annotated[TicketChange, body({"priority": "urgent"})]
) -> TicketOut:
    """A new priority moves the response time (from when the ticket was opened); audited."""
    row = await _ticket_for(request, ticket_id)
    changes = msgspec.to_builtins(data)
    if "assignee_id" in changes and changes["assignee_id"] is not None:
        changes["assignee_id"] = uuid.UUID(changes["assignee_id"])
    moved = await tickets.change_ticket(row["program_id"], ticket_id, changes, current_key(request).actor)
    return await _ticket_out(moved)


@post(
    "/tickets/{ticket_id:uuid}/transitions",
    opt={"scope": Scope.POS},
    tags=TAGS,
    status_code=200,
    summary="Start, resolve, close or reopen a ticket",
    responses=answers(200, TicketOut, TICKET_OUT, 403, 404, 409, 422),
)
async def move_ticket(
    request: Request, ticket_id: FromPath[uuid.UUID], data: Annotated[MoveIn, body({"action": "start"})]
) -> TicketOut:
    """A move its status does not allow is refused (409); closing invites the member to the
    program's ticket surveys; audited."""
    row = await _ticket_for(request, ticket_id)
    program_id = uuid.UUID(str(row["program_id"]))
    moved = await tickets.move_ticket(program_id, ticket_id, data.action, current_key(request).actor, data.note)
    return await _ticket_out(moved)


@post(
    "/tickets/{ticket_id:uuid}/comments",
    opt={"scope": Scope.POS},
    tags=TAGS,
    status_code=201,
    summary="Comment on a ticket",
    responses=answers(201, TicketOut, TICKET_OUT, 403, 404, 422, description="Created"),
)
async def comment_ticket(
    request: Request, ticket_id: FromPath[uuid.UUID], data: Annotated[CommentIn, body({"body": "已联系会员"})]
) -> TicketOut:
    """The first comment answers the ticket (its response time is kept)."""
    row = await _ticket_for(request, ticket_id)
    program_id = uuid.UUID(str(row["program_id"]))
    return await _ticket_out(await tickets.comment(program_id, ticket_id, data.body, current_key(request).actor))


@get(
    "/programs/{program_id:uuid}/care-settings",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Response-time SLA hours per ticket kind and priority",
    responses=answers(200, CareSettings, msgspec.to_builtins(CareSettings()), 403, 404),
)
async def get_care_settings(request: Request, program_id: FromPath[uuid.UUID]) -> CareSettings:
    """Defaults where nothing was set."""
    return care_settings(await program_for(current_key(request), program_id))


@patch(
    "/programs/{program_id:uuid}/care-settings",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change the SLA hours",
    responses=answers(200, CareSettings, msgspec.to_builtins(CareSettings()), 403, 404, 422),
)
async def patch_care_settings(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[dict[str, Any], body({"complaint": {"urgent": 1, "high": 4, "normal": 12, "low": 48}})],
) -> CareSettings:
    """Whole kinds at a time (``complaint``, ``enquiry``, ``suggestion``); new tickets get the
    new hours; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    return await change_care_settings(program.id, data, key.actor)


ROUTES = [
    list_surveys,
    add_survey,
    get_survey,
    change_survey,
    delete_survey,
    survey_results,
    answer_survey,
    list_tickets,
    open_ticket,
    get_ticket,
    change_ticket,
    move_ticket,
    comment_ticket,
    get_care_settings,
    patch_care_settings,
]
