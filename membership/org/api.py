"""REST route for stores: the key's merchant's stores."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Request, get
from litestar.params import FromQuery

from membership.access.service import Scope
from membership.api.docs import answers
from membership.api.security import current_key, program_for
from membership.org import service


class StoreOut(msgspec.Struct):
    """A store (门店) of the merchant."""

    id: uuid.UUID
    code: str
    name: str
    city: str
    address: str
    active: bool


STORE_EXAMPLE = {
    "id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "code": "SH01",
    "name": "南京西路店",
    "city": "上海",
    "address": "南京西路 1266 号",
    "active": True,
}


@get(
    "/stores",
    opt={"scope": Scope.READ},
    tags=["stores"],
    summary="The merchant's stores",
    responses=answers(200, list[StoreOut], [STORE_EXAMPLE], 403, 404),
)
async def list_stores(request: Request, program_id: FromQuery[uuid.UUID | None] = None) -> list[StoreOut]:
    """Every store of the key's merchant (a key for all merchants names a ``program_id``)."""
    key = current_key(request)
    merchant_id = key.merchant_id or (await program_for(key, program_id)).merchant_id
    return [msgspec.convert(row, StoreOut) for row in await service.list_stores(merchant_id)]


ROUTES = [list_stores]
