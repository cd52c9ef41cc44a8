"""The pack's REST routes, mounted by the kernel under ``/api/v1/retail`` behind the API-key guard.

Every route checks that the key may see the program (or member) it names and refuses with 409
``retail_off`` where the pack is off for the program.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from membership.plugin import (
    LineInput,
    ProgramConfig,
    Reason,
    Scope,
    ValidationError,
    current_key,
    get_program,
    member_for,
    plugin_enabled,
    program_for,
    store_for,
)
from membership_retail import basket, catalogue, earning, member_prices, receipts, repurchase
from membership_retail.errors import RetailOff
from membership_retail.settings import NAME

TAGS = ["retail"]
Amount = Annotated[int, msgspec.Meta(ge=0, le=10**12, description="minor units (fen)")]
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Names = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=500)]


class ProductIn(msgspec.Struct, forbid_unknown_fields=True):
    """A product of the catalogue."""

    sku: Text64
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    category: Annotated[str, msgspec.Meta(max_length=64)] = ""
    brand: Annotated[str, msgspec.Meta(max_length=64)] = ""


class ProductsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Products to add or update (by SKU)."""

    products: Annotated[list[ProductIn], msgspec.Meta(min_length=1, max_length=10_000)]
    program_id: uuid.UUID | None = None


class ImportOut(msgspec.Struct):
    """What an import changed."""

    added: int
    updated: int


class MemberPriceIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member price: for a ``sku`` (``price`` in fen, or ``percent`` of the listed price) or a
    ``category`` (``percent``), for ``tier`` (empty: every member)."""

    scope: Literal["sku", "category"]
    target: Text64
    tier: Annotated[str, msgspec.Meta(max_length=32)] = ""
    price: Amount | None = None
    percent: Annotated[int, msgspec.Meta(ge=1, le=99, description="95 = 5% off")] | None = None
    program_id: uuid.UUID | None = None


class MemberPriceOut(msgspec.Struct):
    """A member price."""

    id: uuid.UUID
    scope: str
    target: str
    tier: str
    price: int | None
    percent: int | None


class PointsRuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """Extra points per yuan on the lines of some brands, categories or SKUs (empty lists: every
    line), never on the excluded ones; between optional dates (inclusive)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    points_per_yuan: Annotated[int, msgspec.Meta(ge=1, le=100)]
    brands: Names = []
    categories: Names = []
    skus: Names = []
    exclude_brands: Names = []
    exclude_categories: Names = []
    exclude_skus: Names = []
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    program_id: uuid.UUID | None = None


class PointsRuleOut(msgspec.Struct):
    """A points rule of the pack."""

    id: uuid.UUID
    name: str
    points_per_yuan: int
    brands: list[str]
    categories: list[str]
    skus: list[str]
    exclude_brands: list[str]
    exclude_categories: list[str]
    exclude_skus: list[str]
    starts_on: dt.date | None
    ends_on: dt.date | None
    active: bool


class ReceiptLineIn(msgspec.Struct, forbid_unknown_fields=True):
    """A line as paid (``unit_price`` after the till's own promotions), in minor units."""

    sku: Text64
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    unit_price: Amount
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    category: Annotated[str, msgspec.Meta(max_length=64)] = ""
    brand: Annotated[str, msgspec.Meta(max_length=64)] = ""


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    """A sale a till recorded without a member, kept so the member can claim its points later."""

    receipt_no: Text64
    occurred_at: dt.datetime
    lines: Annotated[list[ReceiptLineIn], msgspec.Meta(min_length=1, max_length=500)]
    store_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None


class ReceiptOut(msgspec.Struct):
    """A kept receipt."""

    id: uuid.UUID
    store_id: uuid.UUID
    receipt_no: str
    occurred_at: dt.datetime
    total: int
    claimed: bool


class ClaimIn(msgspec.Struct, forbid_unknown_fields=True):
    """A member's claim of a receipt's points (补录积分): the receipt number printed on it and the
    store it is from (the key's own store when the key is bound to one)."""

    member_id: uuid.UUID
    receipt_no: Text64
    store_id: uuid.UUID | None = None


class ClaimOut(msgspec.Struct):
    """A claimed receipt: the purchase it became and what it earned."""

    receipt_no: str
    store_id: uuid.UUID
    sale_id: uuid.UUID
    member_id: uuid.UUID
    total: int
    points_earned: int
    bought_at: dt.datetime


class CycleOut(msgspec.Struct):
    """A member's purchase cycle in a category."""

    category: str
    purchases: int
    cycle_days: int
    last_bought_on: dt.date
    due_on: dt.date


class BasketRuleOut(msgspec.Struct):
    """A rule "antecedent → consequent" of the basket analysis."""

    antecedent: str
    consequent: str
    baskets_together: int
    support_pct: float
    confidence_pct: float
    lift: float


class BasketOut(msgspec.Struct):
    """The basket analysis: baskets looked at and the rules, strongest lift first."""

    baskets: int
    days: int
    level: str
    rules: list[BasketRuleOut]


async def _program(request: Request, program_id: uuid.UUID | None) -> ProgramConfig:
    """The program the key works in (named, or its merchant's only one), with the pack on."""
    program = await program_for(current_key(request), program_id)
    if not plugin_enabled(program, NAME):
        raise RetailOff()
    return program


async def _store(request: Request, program: ProgramConfig, store_id: uuid.UUID | None) -> uuid.UUID:
    store = await store_for(current_key(request), program, store_id)
    if store is None:
        raise ValidationError(
            field="store_id", reason=Reason("required for a key not bound to a store", "未绑定门店的密钥必须提供")
        )
    return store


def _price_out(price: member_prices.MemberPrice) -> MemberPriceOut:
    return MemberPriceOut(price.id, price.scope, price.target, price.tier, price.price, price.percent)


def _rule_out(rule: earning.PointsRule) -> PointsRuleOut:
    lists = {field: list(getattr(rule, field)) for field in earning.LISTS}
    return PointsRuleOut(
        rule.id,
        rule.name,
        rule.points_per_yuan,
        **lists,
        starts_on=rule.starts_on,
        ends_on=rule.ends_on,
        active=rule.active,
    )


@get("/retail/products", opt={"scope": Scope.READ}, tags=TAGS, summary="The product catalogue (商品档案)")
async def list_products(
    request: Request,
    program_id: FromQuery[uuid.UUID | None] = None,
    search: FromQuery[Annotated[str, msgspec.Meta(max_length=64)]] = "",
    limit: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=500)]] = 50,
    offset: FromQuery[Annotated[int, msgspec.Meta(ge=0)]] = 0,
) -> list[ProductIn]:
    """Products by SKU; ``search`` finds a text in the SKU, name, category or brand."""
    program = await _program(request, program_id)
    found = await catalogue.list_products(program.id, search.strip(), limit, offset)
    return [ProductIn(p.sku, p.name, p.category, p.brand) for p in found]


@put("/retail/products", opt={"scope": Scope.ADMIN}, tags=TAGS, summary="Add or update products")
async def put_products(request: Request, data: JSONBody[ProductsIn]) -> ImportOut:
    """Add or update products by SKU (all or none)."""
    program = await _program(request, data.program_id)
    products = [catalogue.Product(p.sku, p.name, p.category, p.brand) for p in data.products]
    result = await catalogue.import_products(program.id, products)
    return ImportOut(result.added, result.updated)


@get("/retail/member-prices", opt={"scope": Scope.READ}, tags=TAGS, summary="Member prices (会员价)")
async def list_member_prices(request: Request, program_id: FromQuery[uuid.UUID | None] = None) -> list[MemberPriceOut]:
    """The program's member prices."""
    program = await _program(request, program_id)
    return [_price_out(p) for p in await member_prices.member_prices(program.id)]


@put("/retail/member-prices", opt={"scope": Scope.ADMIN}, tags=TAGS, summary="Set a member price")
async def put_member_price(request: Request, data: JSONBody[MemberPriceIn]) -> MemberPriceOut:
    """Set the member price of a SKU or category for a tier (replacing the one it had)."""
    program = await _program(request, data.program_id)
    price = await member_prices.set_member_price(
        program, data.scope, data.target, data.tier, data.price, data.percent, current_key(request).actor
    )
    return _price_out(price)


@delete("/retail/member-prices/{price_id:uuid}", opt={"scope": Scope.ADMIN}, tags=TAGS, summary="Remove a member price")
async def delete_member_price(
    request: Request, price_id: FromPath[uuid.UUID], program_id: FromQuery[uuid.UUID | None] = None
) -> None:
    """Remove a member price."""
    program = await _program(request, program_id)
    await member_prices.remove_member_price(program.id, price_id)


@get("/retail/points-rules", opt={"scope": Scope.READ}, tags=TAGS, summary="Points by brand, category, SKU")
async def list_points_rules(request: Request, program_id: FromQuery[uuid.UUID | None] = None) -> list[PointsRuleOut]:
    """The pack's points rules of the program."""
    program = await _program(request, program_id)
    return [_rule_out(r) for r in await earning.points_rules(program.id)]


@post("/retail/points-rules", opt={"scope": Scope.ADMIN}, tags=TAGS, summary="Add a points rule", status_code=201)
async def post_points_rule(request: Request, data: JSONBody[PointsRuleIn]) -> PointsRuleOut:
    """Add a rule: extra points per yuan on some brands, categories or SKUs, with exclusions."""
    program = await _program(request, data.program_id)
    fields = msgspec.to_builtins(data)
    fields.pop("program_id", None)
    return _rule_out(
        await earning.create_rule(program.id, {**fields, "starts_on": data.starts_on, "ends_on": data.ends_on})
    )


@post("/retail/receipts", opt={"scope": Scope.POS}, tags=TAGS, summary="Keep a receipt without a member")
async def post_receipt(request: Request, data: JSONBody[ReceiptIn]) -> Response[ReceiptOut]:
    """A till sends each sale it recorded without a member (lines as paid), so the member can
    claim its points later (补录积分). 201 when new; the same receipt again answers 200 with the one
    kept; the same number with other lines or another time is refused (409 ``receipt_differs``)."""
    program = await _program(request, data.program_id)
    store = await _store(request, program, data.store_id)
    lines = [LineInput(li.sku, li.quantity, li.unit_price, li.name, li.category, li.brand) for li in data.lines]
    kept, new = await receipts.keep_receipt(program, store, data.receipt_no, data.occurred_at, lines)
    out = ReceiptOut(kept.id, kept.store_id, kept.receipt_no, kept.occurred_at, kept.total, kept.claimed)
    return Response(out, status_code=201 if new else 200)


@post(
    "/retail/claims",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Claim a receipt's points (补录积分)",
    status_code=201,
)
async def post_claim(request: Request, data: JSONBody[ClaimIn]) -> ClaimOut:
    """Give the member the points of a receipt the till recorded without them: within the
    program's claim window (409 ``claim_too_late``), once per receipt (409 ``receipt_claimed``),
    for a receipt a till sent (404 ``receipt_not_found``)."""
    key = current_key(request)
    member = await member_for(key, data.member_id)
    program = await get_program(member["program_id"])
    if not plugin_enabled(program, NAME):
        raise RetailOff()
    store = await _store(request, program, data.store_id)
    result = await receipts.claim_receipt(program, data.member_id, store, data.receipt_no, key.actor)
    return ClaimOut(
        result.receipt_no,
        result.store_id,
        result.sale_id,
        result.member_id,
        result.total,
        result.points_earned,
        result.bought_at,
    )


@get("/retail/members/{member_id:uuid}/cycles", opt={"scope": Scope.READ}, tags=TAGS, summary="Purchase cycles")
async def member_cycles(request: Request, member_id: FromPath[uuid.UUID]) -> list[CycleOut]:
    """The member's purchase cycle per category, soonest due first (as the last
    ``retail-repurchase`` run computed them)."""
    member = await member_for(current_key(request), member_id)
    if not plugin_enabled(await get_program(member["program_id"]), NAME):
        raise RetailOff()
    cycles = await repurchase.member_cycles(member_id)
    return [CycleOut(c.category, c.purchases, c.cycle_days, c.last_bought_on, c.due_on) for c in cycles]


@get("/retail/basket", opt={"scope": Scope.READ}, tags=TAGS, summary="Market-basket analysis (购物篮分析)")
async def get_basket(
    request: Request,
    program_id: FromQuery[uuid.UUID | None] = None,
    days: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=730)] | None] = None,
    level: FromQuery[Literal["category", "brand", "sku"]] = "category",
    min_baskets: FromQuery[Annotated[int, msgspec.Meta(ge=1)] | None] = None,
    limit: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=500)]] = 50,
) -> BasketOut:
    """Items bought together, as rules A → B with support, confidence and lift."""
    program = await _program(request, program_id)
    found = await basket.basket_rules(program, dt.datetime.now(dt.UTC), days, level, min_baskets, limit)
    rules = [BasketRuleOut(**row) for row in basket.as_rows(found)]
    return BasketOut(found.baskets, found.days, found.level, rules)


ROUTES = [
    list_products,
    put_products,
    list_member_prices,
    put_member_price,
    delete_member_price,
    list_points_rules,
    post_points_rule,
    post_receipt,
    post_claim,
    member_cycles,
    get_basket,
]
