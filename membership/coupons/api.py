"""REST routes for coupons (优惠券): templates, issuing by hand, a member's coupons, one coupon by
its code with its QR image, void, and the per-template report. Coupons are used at the till
through ``POST /transactions`` (``coupons: [code]``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, QueryParameter

from membership.access.service import ApiKeyInfo, Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize, Reason, check_body_code
from membership.api.security import current_key, member_for, program_for
from membership.coupons import report, service
from membership.coupons.templates import Code, TemplateTerms
from membership.errors import CouponCodeNotFound, ProgramNotFound, ValidationError
from membership.errors import Reason as ErrorReason  # Reason: the API's reason-text type
from membership.org.service import get_program

TAGS = ["coupons"]
SVG = "image/svg+xml"
PNG = "image/png"


class TemplateIn(TemplateTerms, frozen=True, kw_only=True):
    """A coupon template (券模板). ``kind``: ``amount_off`` (``amount_off`` minor units),
    ``percent_off`` (``percent_off`` %, rounded down, capped by ``max_off``) or ``free_item``
    (one unit of ``free_sku``). ``min_spend``: the lines' total before discounts must reach it.
    Validity: inclusive local dates ``valid_from``/``valid_until``, or ``valid_days`` from the
    issue day (the earlier end wins). ``per_member_limit``: coupons of it a member may hold in all
    (null: no limit). ``store_ids``: where it is valid (empty: everywhere). ``stackable``: combines
    with other stackable coupons. ``issue_on``: ``manual``, ``birthday`` (``birthday_window`` day or
    month), ``tier_upgrade`` (on reaching ``tier``; null: any), ``sign_up``, ``referral`` or
    ``purchase`` (下次消费券: a purchase paying at least ``issue_min_spend`` and meeting the
    ``issue_conditions``, as points rules have them, issues one, usable from the next purchase)."""

    code: Code | None = None


class TemplateOut(msgspec.Struct):
    """A template as stored, with whether it still issues (``active``)."""

    code: str
    name: str
    kind: str
    amount_off: int
    percent_off: int
    max_off: int | None
    free_sku: str | None
    min_spend: int
    valid_from: dt.date | None
    valid_until: dt.date | None
    valid_days: int | None
    per_member_limit: int | None
    store_ids: list[uuid.UUID]
    stackable: bool
    issue_on: str
    tier: str | None
    birthday_window: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    issue_min_spend: int = 0
    issue_conditions: list[dict[str, Any]] = []


class TemplatePageOut(msgspec.Struct):
    """One page of templates."""

    items: list[TemplateOut]
    page: int
    page_size: int
    total: int


class CouponOut(msgspec.Struct):
    """A member's coupon with its template's terms. ``state``: ``issued`` (usable from
    ``valid_from`` to ``valid_until``, local dates, inclusive), ``redeemed`` (by ``sale_id``, for
    ``discount``), ``expired`` or ``void``."""

    code: str
    template: str
    name: str
    kind: str
    member_id: uuid.UUID
    state: str
    valid_from: dt.date
    valid_until: dt.date
    issued_at: dt.datetime
    occasion: str | None
    redeemed_at: dt.datetime | None
    sale_id: uuid.UUID | None
    store_id: uuid.UUID | None
    discount: int
    amount_off: int
    percent_off: int
    max_off: int | None
    free_sku: str | None
    min_spend: int
    stackable: bool
    store_ids: list[uuid.UUID]


class CouponPageOut(msgspec.Struct):
    """One page of a member's coupons."""

    items: list[CouponOut]
    page: int
    page_size: int
    total: int


class IssueIn(msgspec.Struct, forbid_unknown_fields=True):
    """The members to give one coupon each (all must be active members of the program)."""

    member_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=1000)]


class IssueOut(msgspec.Struct):
    """The coupons issued, and the members skipped because they hold the template's limit."""

    issued: list[CouponOut]
    skipped: list[uuid.UUID]


class VoidIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the coupon is voided (kept in the audit log)."""

    reason: Reason


class ReportRowOut(msgspec.Struct):
    """One template's coupons: ``issued`` in all, of which ``outstanding`` (still usable),
    ``redeemed``, ``expired`` and ``voided``; ``redemption_rate`` is redeemed ÷ (issued − voided);
    ``discount_total`` the minor units taken off sales."""

    template: str
    name: str
    kind: str
    issue_on: str
    active: bool
    issued: int
    outstanding: int
    redeemed: int
    expired: int
    voided: int
    redemption_rate: float
    discount_total: int


class ReportPageOut(msgspec.Struct):
    """One page of the report, one row per template."""

    items: list[ReportRowOut]
    page: int
    page_size: int
    total: int


PROGRAM_ID = "5f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e"
MEMBER_ID = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"
TEMPLATE_EXAMPLE = {
    "code": "ten-off-70",
    "name": "满 70 减 10",
    "kind": "amount_off",
    "amount_off": 1000,
    "min_spend": 7000,
    "valid_days": 30,
    "per_member_limit": 1,
    "stackable": False,
    "issue_on": "sign_up",
}
TEMPLATE_OUT_EXAMPLE = {
    "code": "ten-off-70",
    "name": "满 70 减 10",
    "kind": "amount_off",
    "amount_off": 1000,
    "percent_off": 0,
    "max_off": None,
    "free_sku": None,
    "min_spend": 7000,
    "valid_from": None,
    "valid_until": None,
    "valid_days": 30,
    "per_member_limit": 1,
    "store_ids": [],
    "stackable": False,
    "issue_on": "sign_up",
    "tier": None,
    "birthday_window": "day",
    "active": True,
    "created_at": "2026-11-30T04:30:00Z",
    "updated_at": "2026-11-30T04:30:00Z",
}
COUPON_EXAMPLE = {
    "code": "K7M2QH4WPA3X",
    "template": "ten-off-70",
    "name": "满 70 减 10",
    "kind": "amount_off",
    "member_id": MEMBER_ID,
    "state": "issued",
    "valid_from": "2026-11-30",
    "valid_until": "2026-12-29",
    "issued_at": "2026-11-30T04:31:00Z",
    "occasion": "sign_up",
    "redeemed_at": None,
    "sale_id": None,
    "store_id": None,
    "discount": 0,
    "amount_off": 1000,
    "percent_off": 0,
    "max_off": None,
    "free_sku": None,
    "min_spend": 7000,
    "stackable": False,
    "store_ids": [],
}
REPORT_EXAMPLE = {
    "template": "ten-off-70",
    "name": "满 70 减 10",
    "kind": "amount_off",
    "issue_on": "sign_up",
    "active": True,
    "issued": 1200,
    "outstanding": 610,
    "redeemed": 480,
    "expired": 100,
    "voided": 10,
    "redemption_rate": 0.4034,
    "discount_total": 480000,
}
SVG_EXAMPLE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" …><title>K7M2QH4WPA3X</title>…</svg>'
)


def _template(row: dict[str, Any]) -> TemplateOut:
    return msgspec.convert(row, TemplateOut)


def _coupon(row: dict[str, Any]) -> CouponOut:
    return msgspec.convert(row, CouponOut)


def _data(template: TemplateIn) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(template).items() if not (k == "code" and v is None)}


async def _coupon_for(key: ApiKeyInfo, code: str) -> dict[str, Any]:
    """The coupon's row, if the key's merchant owns its program; else ``CouponCodeNotFound``."""
    row = await service.coupon_row(code)
    try:
        await program_for(key, row["program_id"])
    except ProgramNotFound:  # another merchant's coupon: answer as if it did not exist
        raise CouponCodeNotFound(code=code) from None
    return row


@get(
    "/programs/{program_id:uuid}/coupon-templates",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's coupon templates",
    responses=answers(
        200, TemplatePageOut, {"items": [TEMPLATE_OUT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_templates(
    request: Request,
    program_id: FromPath[uuid.UUID],
    include_retired: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> TemplatePageOut:
    """Active templates by code; retired ones too when asked."""
    program = await program_for(current_key(request), program_id)
    rows, total = await service.list_templates(program.id, include_retired, page, page_size)
    return TemplatePageOut([_template(row) for row in rows], page, page_size, total)


@get(
    "/programs/{program_id:uuid}/coupon-templates/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One coupon template",
    responses=answers(200, TemplateOut, TEMPLATE_OUT_EXAMPLE, 403, 404),
)
async def get_template(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> TemplateOut:
    """The template, active or retired."""
    program = await program_for(current_key(request), program_id)
    return _template(await service.get_template(program.id, code))


@post(
    "/programs/{program_id:uuid}/coupon-templates",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a coupon template",
    responses=answers(201, TemplateOut, TEMPLATE_OUT_EXAMPLE, 403, 404, 422, description="Created"),
)
async def add_template(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[TemplateIn, body(TEMPLATE_EXAMPLE)],
) -> TemplateOut:
    """Add a template (``code`` new in the program); audited. Trigger templates are issued by
    their flow from now on; manual ones through ``…/issue``."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=ErrorReason("required for a new template", "新建模板时必填"))
    return _template(await service.create_template(program.id, _data(data), key.actor))


@put(
    "/programs/{program_id:uuid}/coupon-templates/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a coupon template",
    responses=answers(200, TemplateOut, TEMPLATE_OUT_EXAMPLE, 403, 404, 422),
)
async def change_template(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[TemplateIn, body(TEMPLATE_EXAMPLE)],
) -> TemplateOut:
    """Replace the template's terms (``code`` in the body, when given, must be the path's); a
    retired template issues again. Coupons already issued keep their dates and use the new terms.
    Audited."""
    check_body_code(data.code, code, ErrorReason("template", "优惠券模板"))
    key = current_key(request)
    program = await program_for(key, program_id)
    return _template(await service.change_template(program.id, code, _data(data), key.actor))


@delete(
    "/programs/{program_id:uuid}/coupon-templates/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Retire a coupon template",
    status_code=204,
    responses=answers(204, None, None, 403, 404),
)
async def retire_template(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """Stop issuing from the template; coupons already issued stay usable until they end."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await service.retire_template(program.id, code, key.actor)


@post(
    "/programs/{program_id:uuid}/coupon-templates/{code:str}/issue",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Issue coupons by hand (手动发券)",
    responses=answers(
        201,
        IssueOut,
        {"issued": [{**COUPON_EXAMPLE, "occasion": None}], "skipped": []},
        403,
        404,
        409,
        description="Created",
    ),
)
async def issue_coupons(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[IssueIn, body({"member_ids": [MEMBER_ID]})],
) -> IssueOut:
    """One coupon of the template to each member; members who already hold its
    ``per_member_limit`` are skipped (listed). An unknown member refuses the whole request; a
    retired or ended template is refused (409). Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    result = await service.issue(program.id, code, data.member_ids, key.actor)
    return IssueOut([_coupon(row) for row in result.issued], result.skipped)


@get(
    "/programs/{program_id:uuid}/coupon-report",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Coupon report, per template",
    responses=answers(
        200, ReportPageOut, {"items": [REPORT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def coupon_report(
    request: Request,
    program_id: FromPath[uuid.UUID],
    page: Page = 1,
    page_size: PageSize = 50,
) -> ReportPageOut:
    """Per template (by code): issued, outstanding, redeemed, expired, voided, redemption rate and
    the total discount given; computed in the database."""
    program = await program_for(current_key(request), program_id)
    rows, total = await report.report(program.id, page, page_size)
    return ReportPageOut([msgspec.convert(row, ReportRowOut) for row in rows], page, page_size, total)


@get(
    "/programs/{program_id:uuid}/coupon-templates/{code:str}/report",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Coupon report of one template",
    responses=answers(200, ReportRowOut, REPORT_EXAMPLE, 403, 404),
)
async def template_report(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> ReportRowOut:
    """The report's row for one template."""
    program = await program_for(current_key(request), program_id)
    return msgspec.convert(await report.template_report(program.id, code), ReportRowOut)


@get(
    "/members/{member_id:uuid}/coupons",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's coupons",
    responses=answers(
        200, CouponPageOut, {"items": [COUPON_EXAMPLE], "page": 1, "page_size": 20, "total": 1}, 403, 404
    ),
)
async def member_coupons(
    request: Request,
    member_id: FromPath[uuid.UUID],
    only: Annotated[
        Literal["issued", "redeemed", "expired", "void"] | None,
        QueryParameter(description="Only coupons in this state (``issued``: still usable)"),
    ] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> CouponPageOut:
    """Newest first, each with its template's terms (for the till to offer them); ``only=issued``
    lists the ones usable now."""
    await member_for(current_key(request), member_id)
    rows, total = await service.member_coupons(member_id, only, page, page_size)
    return CouponPageOut([_coupon(row) for row in rows], page, page_size, total)


@get(
    "/coupons/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One coupon by its code",
    responses=answers(200, CouponOut, COUPON_EXAMPLE, 403, 404),
)
async def get_coupon(request: Request, code: FromPath[str]) -> CouponOut:
    """The coupon (spaces and dashes in the code are ignored, letters may be lower case)."""
    row = await _coupon_for(current_key(request), code)
    return _coupon(service.coupon_out(row, service.local_today(await get_program(row["program_id"]))))


@post(
    "/coupons/{code:str}/void",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Void a coupon (作废)",
    responses=answers(200, CouponOut, {**COUPON_EXAMPLE, "state": "void"}, 403, 404, 409),
    status_code=200,
)
async def void_coupon(
    request: Request, code: FromPath[str], data: Annotated[VoidIn, body({"reason": "发错会员"})]
) -> CouponOut:
    """An unused coupon becomes void; a used, expired or void one is refused (409). Audited."""
    key = current_key(request)
    row = await _coupon_for(key, code)
    return _coupon(await service.void(row["code"], data.reason, key.actor))


@get(
    "/coupons/{code:str}/qr.svg",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A coupon's QR code (SVG)",
    responses=answers(200, str, SVG_EXAMPLE, 403, 404, media_type=SVG),
    media_type=SVG,
)
async def coupon_qr_svg(request: Request, code: FromPath[str]) -> Response[bytes]:
    """The coupon code as a QR code for printing or a screen; a till scans it into ``coupons``."""
    row = await _coupon_for(current_key(request), code)
    return Response(service.qr_svg(row["code"]), media_type=SVG)


@get(
    "/coupons/{code:str}/qr.png",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A coupon's QR code (PNG)",
    responses=answers(200, bytes, "(PNG image)", 403, 404, media_type=PNG),
    media_type=PNG,
)
async def coupon_qr_png(request: Request, code: FromPath[str]) -> Response[bytes]:
    """The coupon code as a QR code, a PNG image (8 pixels per module) for receipts and apps."""
    row = await _coupon_for(current_key(request), code)
    return Response(service.qr_png(row["code"]), media_type=PNG)


ROUTES = [
    list_templates,
    get_template,
    add_template,
    change_template,
    retire_template,
    issue_coupons,
    coupon_report,
    template_report,
    member_coupons,
    get_coupon,
    void_coupon,
    coupon_qr_svg,
    coupon_qr_png,
]
