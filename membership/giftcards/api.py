"""REST routes for gift cards (礼品卡): the products a program sells, the cards sold, a card's
balance by its code. Cards are sold as lines of ``POST /transactions`` and spent there as a
payment (``{"method": "gift_card", "code": …, "amount": …}``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Amount, Page, PageSize
from membership.api.security import current_key, program_for
from membership.errors import Reason, ValidationError
from membership.giftcards import service

TAGS = ["gift cards"]
Sku = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="The product's SKU at the till")]


class ProductIn(msgspec.Struct, forbid_unknown_fields=True):
    """A gift-card product: a sale line with ``sku`` issues one card of ``face_value`` (minor
    units) per unit; ``active`` False stops selling it."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    face_value: Annotated[int, msgspec.Meta(ge=1, le=10_000_000_000, description="Minor units (fen)")]
    sku: Sku | None = None
    active: bool = True


class ProductOut(msgspec.Struct):
    """A gift-card product as stored."""

    sku: str
    name: str
    face_value: int
    active: bool


class CardOut(msgspec.Struct):
    """A card as staff and clients see it: the masked code, its product, ``status`` (``unused``,
    ``in_use``, ``spent`` or ``void``), face value and balance (minor units)."""

    id: uuid.UUID
    code: str
    sku: str
    name: str
    status: str
    face_value: Amount
    balance: Amount
    issued_at: dt.datetime
    voided_at: dt.datetime | None
    store_id: uuid.UUID


class CardPageOut(msgspec.Struct):
    """One page of cards, latest sold first."""

    items: list[CardOut]
    page: int
    page_size: int
    total: int


class LiabilityOut(msgspec.Struct):
    """The program's gift cards in money: ``sold`` (net of voids) less ``spent`` (net of refunds)
    is what the cards still hold (``outstanding``), apart from members' stored value."""

    cards: int
    sold: int
    spent: int
    outstanding: int


PRODUCT_EXAMPLE = {"sku": "GC-100", "name": "100元礼品卡", "face_value": 10_000, "active": True}
CARD_EXAMPLE = {
    "id": "0c1d2e3f-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "code": "****-****-****-9Z8Y",
    "sku": "GC-100",
    "name": "100元礼品卡",
    "status": "in_use",
    "face_value": 10_000,
    "balance": 6_500,
    "issued_at": "2026-12-01T08:30:00Z",
    "voided_at": None,
    "store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
}


def _product(item: service.Product) -> ProductOut:
    return ProductOut(item.sku, item.name, item.face_value, item.active)


@get(
    "/programs/{program_id:uuid}/gift-card-products",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's gift-card products",
    responses=answers(200, list[ProductOut], [PRODUCT_EXAMPLE], 403, 404),
)
async def list_products(request: Request, program_id: FromPath[uuid.UUID]) -> list[ProductOut]:
    """Every gift-card product of the program by SKU, retired ones too."""
    program = await program_for(current_key(request), program_id)
    return [_product(item) for item in await service.products(program.id)]


@post(
    "/programs/{program_id:uuid}/gift-card-products",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a gift-card product",
    responses=answers(201, ProductOut, PRODUCT_EXAMPLE, 403, 404, 409, 422, description="Created"),
)
async def add_product(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[ProductIn, body(PRODUCT_EXAMPLE)]
) -> ProductOut:
    """Add a product (``sku`` new in the program: ``gift_card_product_exists`` otherwise); from
    now on a sale line with its SKU, at its face value, sells cards. Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.sku is None:
        raise ValidationError(field="sku", reason=Reason("required for a new product", "新建商品时必填"))
    return _product(
        await service.save_product(program.id, data.sku, data.name, data.face_value, data.active, key.actor, True)
    )


@put(
    "/programs/{program_id:uuid}/gift-card-products/{sku:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a gift-card product",
    responses=answers(200, ProductOut, PRODUCT_EXAMPLE, 403, 404, 422),
)
async def change_product(
    request: Request,
    program_id: FromPath[uuid.UUID],
    sku: FromPath[str],
    data: Annotated[ProductIn, body(PRODUCT_EXAMPLE)],
) -> ProductOut:
    """Change the product's name, face value (for cards sold from now on) or whether it sells
    (``sku`` in the body, when given, must be the path's). Audited."""
    if data.sku not in (None, sku):
        raise ValidationError(field="sku", reason=Reason("must be the path's", "须与路径中的一致"))
    key = current_key(request)
    program = await program_for(key, program_id)
    return _product(await service.save_product(program.id, sku, data.name, data.face_value, data.active, key.actor))


@get(
    "/programs/{program_id:uuid}/gift-cards",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's gift cards",
    responses=answers(200, CardPageOut, {"items": [CARD_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404),
)
async def list_cards(
    request: Request,
    program_id: FromPath[uuid.UUID],
    status: FromQuery[Literal["unused", "in_use", "spent", "void"] | None] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> CardPageOut:
    """The cards sold, latest first, codes masked; only those with ``status`` when given."""
    program = await program_for(current_key(request), program_id)
    rows, total = await service.cards_page(program.id, page, page_size, status or "")
    return CardPageOut([CardOut(**row) for row in rows], page, page_size, total)


@get(
    "/programs/{program_id:uuid}/gift-cards/liability",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="What the program's gift cards still hold",
    responses=answers(200, LiabilityOut, {"cards": 3, "sold": 30_000, "spent": 3_500, "outstanding": 26_500}, 403, 404),
)
async def card_liability(request: Request, program_id: FromPath[uuid.UUID]) -> LiabilityOut:
    """Sold, spent and outstanding gift-card value: a liability of its own, never counted in
    members' stored value."""
    program = await program_for(current_key(request), program_id)
    found = await service.liability(program.id)
    return LiabilityOut(found.cards, found.sold, found.spent, found.outstanding)


@get(
    "/programs/{program_id:uuid}/gift-cards/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A gift card's balance by its code (余额查询)",
    responses=answers(200, CardOut, CARD_EXAMPLE, 403, 404, 422),
)
async def card_balance(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> CardOut:
    """The card with this code (as printed or scanned; dashes ignored): its status and balance,
    the code masked. ``gift_card_not_found`` (404) for an unknown code; each lookup counts
    against the key's rate limit, and with 80 random bits a code cannot be guessed."""
    program = await program_for(current_key(request), program_id)
    return CardOut(**await service.balance(program.id, code))


ROUTES = [list_products, add_product, change_product, list_cards, card_liability, card_balance]
