"""Console login, sessions, throttling, CSRF, language, and the role check on every route."""

from __future__ import annotations

import uuid

import httpx
import pytest

from membership.db import fetch
from membership.members import service as members
from membership.staff.roles import MATRIX, Permission
from tests.console_client import PASSWORD, ROLES, csrf_of, log_in, text_of


async def test_login_opens_the_counter_and_logout_closes_it(console):
    client = console.client()
    async with client:
        first = await client.get("/console/counter")
        assert first.status_code in (302, 303) and first.headers["location"] == "/console/login?next=/console/counter"
        answer = await log_in(client, "clerk")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/counter"
        cookie = answer.headers["set-cookie"]
        assert (
            "membership_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        )
        page = await client.get("/console/counter")
        assert page.status_code == 200 and "会员卡、会员码、手机号或会员号" in page.text

        out = await client.post("/console/logout", data={"_csrf_token": csrf_of(client)})
        assert out.status_code == 303
        assert (await client.get("/console/counter")).status_code in (302, 303)
    assert await fetch("SELECT COUNT(*) AS n FROM staff_session") == [{"n": 0}]


async def test_a_wrong_password_says_so_and_repeated_failures_make_only_that_address_wait(console):
    async with console.client() as client:
        wrong = await log_in(client, "clerk", "not-the-password")
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        assert wrong.headers["content-type"].startswith("text/html")
        unknown = await log_in(client, "nobody", PASSWORD)
        assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text  # same answer: names are not revealed
        for _ in range(3):
            assert (await log_in(client, "clerk", "not-the-password")).status_code == 401
        waiting = await log_in(client, "clerk", PASSWORD)  # even the right password waits, here
        assert waiting.status_code == 429 and "秒后再试" in waiting.text and "“员工”页面解锁" in waiting.text
        assert waiting.headers["retry-after"] == "1"
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=console.app, client=("198.51.100.7", 40000)), base_url="http://testserver"
    )
    async with elsewhere:
        assert (await log_in(elsewhere, "clerk")).status_code == 303  # the clerk at another till is not locked out
    audit = await fetch("SELECT action, actor FROM audit_log WHERE action LIKE 'staff.%' ORDER BY occurred_at")
    assert [row["action"] for row in audit].count("staff.login_throttled") == 1
    assert "staff.locked" not in [row["action"] for row in audit]


async def test_forms_without_the_csrf_token_are_refused(console):
    async with console.client() as client:
        await client.get("/console/login")
        refused = await client.post("/console/login", data={"username": "clerk", "password": PASSWORD})
        assert refused.status_code == 403 and "请求被拒绝" in refused.text
        english = await client.post(
            "/console/login", data={"username": "clerk"}, headers={"Accept-Language": "en-GB,en"}
        )
        assert english.status_code == 403 and "The request was refused." in english.text  # the browser's language
        forged = await client.post(
            "/console/login", data={"username": "clerk", "password": PASSWORD, "_csrf_token": "forged"}
        )
        assert forged.status_code == 403
        assert (await log_in(client, "clerk")).status_code == 303
        member = console.shop.member_id
        no_token = await client.post(f"/console/counter/members/{member}/top-up/confirm", data={"amount": "10"})
        assert no_token.status_code == 403
    assert await fetch("SELECT COUNT(*) AS n FROM ledger_posting") == [{"n": 0}]


async def test_the_language_switch_is_remembered(console):
    async with console.logged_in("manager") as client:
        switched = await client.post(
            "/console/language", data={"language": "en", "next": "/console/counter", "_csrf_token": csrf_of(client)}
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/console/counter"
        page = await client.get("/console/counter")
        assert "Card, member code, phone or member number" in page.text and 'lang="en"' in page.text
    async with console.logged_in("manager") as again:  # a new session keeps the choice
        assert "Card, member code, phone or member number" in (await again.get("/console/counter")).text


async def test_the_help_page_shows_the_matrix_the_server_enforces(console):
    async with console.logged_in("analyst") as client:
        page = text_of((await client.get("/console/help")).text)
    assert "岗位权限" in page and "收银员" in page and "管理 API 密钥" in page


def _console_routes(app) -> list[tuple[str, str, dict]]:
    routes = []
    for route in app.routes:
        if not route.path.startswith("/console") or route.path.startswith("/console/static"):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                routes.append((method, route.path, handler.opt))
    return routes


def _concrete(path: str, member_id: uuid.UUID, credential_id: uuid.UUID) -> list[str]:
    for parameter, value in (
        ("{member_id:uuid}", member_id),
        ("{credential_id:uuid}", credential_id),
        ("{staff_id:uuid}", uuid.uuid4()),  # nobody: refused as such, after the role check
        ("{sale_id:uuid}", uuid.uuid4()),
        ("{note_id:uuid}", uuid.uuid4()),
        ("{prefix:str}", "0000"),
        ("{name:str}", "points_liability"),
        ("{form:str}", "csv"),
        ("{code:str}", "no-such-rule"),
        ("{token:str}", "no-such-token"),
        ("{kind:str}", "members"),
        ("{tag:str}", "no-such-tag"),
        ("{ticket_id:uuid}", uuid.uuid4()),
    ):
        path = path.replace(parameter, str(value))
    assert "{" not in path.replace("{action:str}", ""), f"give {path} a value in _concrete"
    return [path.replace("{action:str}", action) for action in ("purchase", "redeem", "top-up")]


@pytest.mark.parametrize("role", ROLES)
async def test_every_console_route_checks_the_role_on_the_server(console, role):
    routes = _console_routes(console.app)
    assert len(routes) >= 27
    card = await members.issue_credential(console.shop.member_id, "card_uid", f"C{role}")
    async with console.logged_in(role) as client:
        for method, path, opt in routes:
            if opt.get("public") or path == "/console/logout":
                continue
            if not opt.get("any_staff"):
                assert isinstance(opt.get("permission"), Permission), f"{method} {path} names no permission"
            allowed = opt.get("any_staff") or role in MATRIX[opt["permission"]]
            for url in set(_concrete(path, console.shop.member_id, card["id"])):
                if path.endswith("/reads"):
                    if allowed:
                        continue  # an endless stream; allowed access is covered by the browser test
                    answer = await client.get(url)
                elif method == "GET":
                    answer = await client.get(url, params={"value": "X", "q": ""})
                else:
                    answer = await client.request(method, url, data={"_csrf_token": csrf_of(client)})
                if allowed:
                    assert answer.status_code != 403 and answer.status_code < 500, (
                        role,
                        method,
                        url,
                        answer.status_code,
                    )
                else:
                    assert answer.status_code == 403, (role, method, url, answer.status_code)
                    assert "无权访问" in answer.text and answer.headers["content-type"].startswith("text/html")


async def test_a_wrong_console_address_is_a_page_not_a_json_document(console):
    async with console.logged_in("manager") as client:
        unknown = await client.get("/console/no/such/page")
        malformed = await client.get("/console/members", params={"page": "abc"})
        api = await client.get("/api/v1/no/such/route")  # the API keeps its problem documents
    assert unknown.status_code == 404 and "该页面不存在" in unknown.text
    assert unknown.headers["content-type"].startswith("text/html")
    assert malformed.status_code == 400 and malformed.headers["content-type"].startswith("text/html")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
