"""A console client for tests: logs staff in through the real login form (CSRF cookie and all)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator

import httpx

from membership.staff.service import create_staff

PASSWORD = "柜台-pass-2026"
ROLES = ("owner", "manager", "clerk", "analyst")


def csrf_of(client: httpx.AsyncClient) -> str:
    """The CSRF token the console's forms carry (the double-submit cookie's value)."""
    return client.cookies["csrftoken"]


@dataclasses.dataclass
class Console:
    app: object
    shop: object

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    @contextlib.asynccontextmanager
    async def logged_in(self, username: str, password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as client:
            answer = await log_in(client, username, password)
            assert answer.status_code == 303, answer.text
            yield client


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/console/login")
    assert page.status_code == 200
    form = {"username": username, "password": password, "next": "/console/counter", "_csrf_token": csrf_of(client)}
    return await client.post("/console/login", data=form)


async def make_staff(shop) -> None:
    """One account per role at the shop's merchant: ``owner``, ``manager``, ``clerk``, ``analyst``."""
    for role in ROLES:
        await create_staff(role, PASSWORD, role, merchant_id=shop.merchant_id)


def text_of(html: str) -> str:
    """The visible text of a page, whitespace collapsed (for asserting what staff read)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
