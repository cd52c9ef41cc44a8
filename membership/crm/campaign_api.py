"""REST routes of campaigns (营销活动): the program's campaigns, one run now, and the results
against the control group."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize, check_body_code
from membership.api.security import current_key, program_for
from membership.crm import campaigns
from membership.crm.campaigns import CampaignTerms, Code
from membership.errors import Reason, ValidationError

TAGS = ["crm"]


class CampaignIn(CampaignTerms, frozen=True, kw_only=True):
    """A campaign (``code`` for a new one): audience, when, what it gives, control group."""

    code: Code | None = None


class CampaignOut(msgspec.Struct):
    """A campaign as stored, with when it last ran."""

    code: str
    terms: dict[str, Any]
    active: bool
    last_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignPageOut(msgspec.Struct):
    """One page of campaigns by code."""

    items: list[CampaignOut]
    page: int
    page_size: int
    total: int


class RunOut(msgspec.Struct):
    """Members served now (messages queued, coupons and points given) and held back."""

    targets: int
    controls: int


class GroupOut(msgspec.Struct):
    """One group's members, those who bought within the conversion window, and their spend."""

    members: int
    converted: int
    revenue: int


class ResultsOut(msgspec.Struct):
    """The target and control groups, the target group's messages by state (``sent``,
    ``pending``, ``failed``, ``suppressed``…), and how many were opened and clicked where the
    channel tells (e-mail opens, inbox reads, followed links)."""

    target: GroupOut
    control: GroupOut
    messages: dict[str, int]
    opened: int
    clicked: int


EXAMPLE = {
    "code": "birthday",
    "name": "生日礼遇",
    "segment": None,
    "when": {"kind": "trigger", "event": "birthday", "days": 0},
    "template": "birthday",
    "channels": ["email", "inbox"],
    "coupon": "birthday-20",
    "control_pct": 10,
    "conversion_days": 14,
}
OUT_EXAMPLE = {
    "code": "birthday",
    "terms": {k: v for k, v in EXAMPLE.items() if k != "code"},
    "active": True,
    "last_run_at": None,
    "created_at": "2026-12-09T09:00:00Z",
    "updated_at": "2026-12-09T09:00:00Z",
}


def _out(row: dict[str, Any]) -> CampaignOut:
    return CampaignOut(
        row["code"],
        msgspec.to_builtins(campaigns.terms_of(row)),
        bool(row["active"]),
        row["last_run_at"],
        row["created_at"],
        row["updated_at"],
    )


def _terms(data: CampaignIn) -> CampaignTerms:
    return msgspec.convert({k: v for k, v in msgspec.to_builtins(data).items() if k != "code"}, CampaignTerms)


@get(
    "/programs/{program_id:uuid}/campaigns",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Campaigns (营销活动)",
    responses=answers(200, CampaignPageOut, {"items": [OUT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404),
)
async def list_campaigns(
    request: Request, program_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> CampaignPageOut:
    """By code."""
    program = await program_for(current_key(request), program_id)
    rows, total = await campaigns.list_campaigns(program.id, page, page_size)
    return CampaignPageOut([_out(row) for row in rows], page, page_size, total)


@post(
    "/programs/{program_id:uuid}/campaigns",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a campaign",
    responses=answers(201, CampaignOut, OUT_EXAMPLE, 403, 404, 409, 422, description="Created"),
)
async def add_campaign(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[CampaignIn, body(EXAMPLE)]
) -> CampaignOut:
    """Checked (it gives something; a message has channels set up; its segment, template and
    coupon are the program's; the schedule has its time, cron or event); audited. The
    ``run-campaigns`` job serves it from then on."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=Reason("required for a new campaign", "新建活动时必填"))
    return _out(await campaigns.save_campaign(program.id, data.code, _terms(data), key.actor, new=True))


@put(
    "/programs/{program_id:uuid}/campaigns/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a campaign (or switch it off: active false)",
    responses=answers(200, CampaignOut, OUT_EXAMPLE, 403, 404, 422),
)
async def change_campaign(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], data: Annotated[CampaignIn, body(EXAMPLE)]
) -> CampaignOut:
    """Members already served stay served; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    check_body_code(data.code, code, Reason("campaign", "营销活动"))
    return _out(await campaigns.save_campaign(program.id, code, _terms(data), key.actor, new=False))


@get(
    "/programs/{program_id:uuid}/campaigns/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One campaign",
    responses=answers(200, CampaignOut, OUT_EXAMPLE, 403, 404),
)
async def get_campaign(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> CampaignOut:
    """As stored."""
    program = await program_for(current_key(request), program_id)
    return _out(await campaigns.campaign_row(program.id, code))


@post(
    "/programs/{program_id:uuid}/campaigns/{code:str}/run",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=200,
    summary="Serve a campaign's due members now",
    responses=answers(200, RunOut, {"targets": 1180, "controls": 131}, 403, 404),
)
async def run_campaign(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> RunOut:
    """What the job would do now; members already served for their occasion are not served
    again."""
    program = await program_for(current_key(request), program_id)
    row = await campaigns.campaign_row(program.id, code)
    targets, controls = await campaigns.run_campaign(program, row, dt.datetime.now(dt.UTC))
    return RunOut(targets, controls)


@get(
    "/programs/{program_id:uuid}/campaigns/{code:str}/results",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A campaign's results against its control group",
    responses=answers(
        200,
        ResultsOut,
        {
            "target": {"members": 1180, "converted": 212, "revenue": 2650000},
            "control": {"members": 131, "converted": 14, "revenue": 160000},
            "messages": {"sent": 1102, "suppressed": 61, "failed": 17},
            "opened": 412,
            "clicked": 96,
        },
        403,
        404,
    ),
)
async def campaign_results(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> ResultsOut:
    """Converted: bought within the campaign's conversion days after being served (or held
    back); revenue in minor units."""
    program = await program_for(current_key(request), program_id)
    found = await campaigns.results(program.id, code)
    groups = found["groups"]
    target, control = GroupOut(**groups["target"]), GroupOut(**groups["control"])
    return ResultsOut(target, control, found["messages"], found["opened"], found["clicked"])


ROUTES = [list_campaigns, add_campaign, get_campaign, change_campaign, run_campaign, campaign_results]
