"""REST routes for promotions at the till (促销活动): a program's promotions (add, change, end,
read) and the registered promotion kinds. Sales get them through ``POST /transactions`` and
``POST /transactions/simulate`` (``promotion_codes`` for those that need a code)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize, check_body_code
from membership.api.security import current_key, program_for
from membership.errors import Reason, ValidationError
from membership.promotions import service
from membership.promotions.service import Code, PromotionTerms

TAGS = ["promotions"]


class PromotionIn(PromotionTerms, frozen=True, kw_only=True):
    """A promotion at the till (促销活动). ``kind``: ``percent_off`` (``params``: ``percent_off``
    1–99, 20 = 8折, capped by ``max_off``), ``amount_off`` (``amount_off`` minor units off the
    selected lines), ``fixed_price`` (``price`` a unit), ``cheapest_item`` (``percent_off`` of the
    cheapest selected unit, 100 = free), ``buy_n_get_m`` (``buy``, ``get``, ``percent_off``), or a
    kind a pack registers (``GET /promotion-kinds``). ``conditions``: as points rules take them
    (``sku``, ``category``, ``brand``, ``label`` with ``any_of``/``none_of``; ``min_quantity``;
    ``code``); ``min_amount``: the least the selected lines come to. ``stackable``: combines with
    other stackable promotions; otherwise it applies alone when best for the customer.
    ``till_code``: needs the code typed at the till. ``member_limit``/``total_limit``: uses per
    member and in all. ``valid_from``/``valid_until``: inclusive local dates. ``store_ids``: where
    (empty: everywhere)."""

    code: Code | None = None


class PromotionOut(msgspec.Struct):
    """A promotion as stored; ``gives_zh``/``gives_en`` say what it takes off; ``used_count``:
    its uses not given back by refunds; ``active`` false once ended."""

    code: str
    name: str
    description: str
    kind: str
    params: dict[str, Any]
    conditions: list[dict[str, Any]]
    min_amount: int
    stackable: bool
    till_code: str | None
    member_limit: int | None
    total_limit: int | None
    used_count: int
    valid_from: dt.date | None
    valid_until: dt.date | None
    store_ids: list[uuid.UUID]
    active: bool
    gives_zh: str
    gives_en: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PromotionPageOut(msgspec.Struct):
    """One page of promotions, by code."""

    items: list[PromotionOut]
    page: int
    page_size: int
    total: int


class PromotionKindOut(msgspec.Struct):
    """A registered promotion kind: its name, labels and the JSON schema of its ``params``."""

    kind: str
    label_zh: str
    label_en: str
    params_schema: dict[str, Any]


PROMOTION_EXAMPLE = {
    "code": "drinks-8",
    "name": "饮品满 2 件 8 折",
    "kind": "percent_off",
    "params": {"percent_off": 20},
    "conditions": [{"kind": "category", "any_of": ["饮品"]}, {"kind": "min_quantity", "quantity": 2}],
    "stackable": True,
    "member_limit": 3,
    "valid_until": "2027-03-31",
}
PROMOTION_OUT_EXAMPLE = {
    **PROMOTION_EXAMPLE,
    "description": "",
    "min_amount": 0,
    "till_code": None,
    "total_limit": None,
    "used_count": 12,
    "valid_from": None,
    "store_ids": [],
    "active": True,
    "gives_zh": "打 8 折",
    "gives_en": "20% off",
    "created_at": "2026-12-12T08:00:00Z",
    "updated_at": "2026-12-12T08:00:00Z",
}


def _out(row: dict[str, Any]) -> PromotionOut:
    return msgspec.convert(row, PromotionOut)


def _data(promotion: PromotionIn) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(promotion).items() if not (k == "code" and v is None)}


@get(
    "/programs/{program_id:uuid}/promotions",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's promotions at the till (促销活动)",
    responses=answers(
        200, PromotionPageOut, {"items": [PROMOTION_OUT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_promotions(
    request: Request,
    program_id: FromPath[uuid.UUID],
    include_ended: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PromotionPageOut:
    """The running promotions by code; the ended ones too when asked."""
    program = await program_for(current_key(request), program_id)
    rows, total = await service.list_promotions(program.id, include_ended, page, page_size)
    return PromotionPageOut([_out(row) for row in rows], page, page_size, total)


@get(
    "/programs/{program_id:uuid}/promotions/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One promotion",
    responses=answers(200, PromotionOut, PROMOTION_OUT_EXAMPLE, 403, 404),
)
async def get_promotion(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> PromotionOut:
    """The promotion, running or ended, with its uses so far."""
    program = await program_for(current_key(request), program_id)
    return _out(await service.get_promotion(program.id, code))


@post(
    "/programs/{program_id:uuid}/promotions",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a promotion",
    responses=answers(201, PromotionOut, PROMOTION_OUT_EXAMPLE, 403, 404, 422, description="Created"),
)
async def add_promotion(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[PromotionIn, body(PROMOTION_EXAMPLE)]
) -> PromotionOut:
    """Add a promotion (``code`` new in the program; ``params`` checked by its kind, ``conditions``
    by theirs); it applies to sales at once. Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=Reason("required for a new promotion", "新建促销活动时必填"))
    return _out(await service.create_promotion(program.id, _data(data), key.actor))


@put(
    "/programs/{program_id:uuid}/promotions/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a promotion",
    responses=answers(200, PromotionOut, PROMOTION_OUT_EXAMPLE, 403, 404, 422),
)
async def change_promotion(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[PromotionIn, body(PROMOTION_EXAMPLE)],
) -> PromotionOut:
    """Replace the promotion's terms (its uses stay; ``total_limit`` not below them); an ended
    one runs again. Audited."""
    check_body_code(data.code, code, Reason("promotion", "促销活动"))
    key = current_key(request)
    program = await program_for(key, program_id)
    return _out(await service.change_promotion(program.id, code, _data(data), key.actor))


@delete(
    "/programs/{program_id:uuid}/promotions/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="End a promotion (停用)",
    status_code=204,
    responses=answers(204, None, None, 403, 404),
)
async def end_promotion(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """No sale gets it any more; its uses stay (a refund still gives them back)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await service.end_promotion(program.id, code, key.actor)


@get(
    "/promotion-kinds",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Kinds of promotions (built-in and packs')",
    responses=answers(
        200,
        list[PromotionKindOut],
        [{"kind": "percent_off", "label_zh": "打折", "label_en": "percent off", "params_schema": {"type": "object"}}],
        403,
    ),
)
async def promotion_kinds() -> list[PromotionKindOut]:
    """Every registered promotion kind with the JSON schema of its ``params``."""
    return [PromotionKindOut(k.kind, k.label_zh, k.label_en, k.params_schema) for k in service.kinds_info()]


ROUTES = [list_promotions, get_promotion, add_promotion, change_promotion, end_promotion, promotion_kinds]
