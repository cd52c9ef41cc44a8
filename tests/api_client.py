"""An API test client: the real Litestar app over the test's database, with keys per scope."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx

from membership.access.service import create_api_key
from tests.helpers import Shop


@dataclasses.dataclass
class Api:
    client: httpx.AsyncClient
    app: Any
    shop: Shop
    keys: dict[str, str]

    def headers(self, key: str | None = "pos", lang: str = "en", **extra: str) -> dict[str, str]:
        headers = {"Accept-Language": lang, **extra}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        return headers

    async def call(self, method: str, path: str, key: str | None = "pos", json: Any = None, **kw: Any):
        params = kw.pop("params", None)
        lang = kw.pop("lang", "en")
        headers = self.headers(key, lang, **kw)
        return await self.client.request(method, f"/api/v1{path}", json=json, params=params, headers=headers)

    def sale(self, amount: int = 9_900, **body: Any) -> dict[str, Any]:
        """A one-line purchase body for the shop's member at its first store."""
        return {
            "member_id": str(self.shop.member_id),
            "store_id": str(self.shop.store_id),
            "lines": [{"sku": "6901", "name": "牛奶", "quantity": 1, "unit_price": amount}],
            **body,
        }

    async def buy(self, body: dict[str, Any], key: str = "pos", idem: str | None = None):
        """POST /transactions with an Idempotency-Key (a fresh one unless given)."""
        return await self.call("POST", "/transactions", key, body, **{"Idempotency-Key": idem or uuid.uuid4().hex})


async def make_keys(shop: Shop) -> dict[str, str]:
    """Keys of the shop's merchant per scope, one bound to its first store, and a global admin."""
    keys = {}
    for scope in ("read", "pos", "admin"):
        keys[scope] = (await create_api_key(f"test-{scope}", [scope], merchant_id=shop.merchant_id)).secret
    keys["store"] = (await create_api_key("till-1", ["pos"], store_id=shop.store_id)).secret
    keys["global"] = (await create_api_key("platform", ["admin"])).secret
    return keys
