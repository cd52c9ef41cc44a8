"""HTTP hardening (issue 17): deep JSON and NUL characters are refused as 422 problems naming the
field, on SQLite and PostgreSQL (and so is a date arithmetic cannot go on with, like the day
before 0001-01-01); a NUL in a static file's path is a 404; an unreachable PostgreSQL answers 503
with ``Retry-After``; every answer carries security headers; a console CSRF token only works with
its own session; the OpenAPI schema says which bodies refuse unknown fields. (The console in a
browser under its CSP: test_console_csp_browser.py.)"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import httpx
import msgspec
import pytest

from membership.api.input_checks import MAX_JSON_DEPTH
from membership.config import Settings
from membership.db import close_database, open_database
from membership.db.migrate import migrate
from membership.db.throwaway import ThrowawayCluster, _as_postgres, pg_bindir
from membership.db.unavailable import is_unavailable
from membership.testing import app_for
from tests.api_client import Api, make_keys
from tests.conftest import SECRET
from tests.console_client import PASSWORD, csrf_of, log_in, make_staff, text_of
from tests.helpers import make_shop

PROBLEM = "application/problem+json"


def nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: ``{"a": {"a": … 1 …}}``."""
    return '{"a": ' * depth + "1" + "}" * depth


async def patch_raw(api: Api, body: str, lang: str = "en") -> httpx.Response:
    member = api.shop.member_id
    headers = {**api.headers("admin", lang), "Content-Type": "application/json"}
    return await api.client.patch(f"/api/v1/members/{member}", content=body, headers=headers)


def assert_refused(answer: httpx.Response, field: str) -> dict:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["code"] == "validation_error"
    assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


# 1. deep JSON ------------------------------------------------------------------------------


async def test_json_nested_a_thousand_deep_is_a_422_problem_not_a_500(any_api):
    for depth in (1_000, 5_000):
        answer = await patch_raw(any_api, '{"preferences": ' + nested(depth) + "}")
        problem = assert_refused(answer, "body")
        assert f"nested deeper than {MAX_JSON_DEPTH} levels" in problem["detail"]
    chinese = await patch_raw(any_api, "[" * 3_000 + "]" * 3_000, lang="zh")
    assert_refused(chinese, "body")
    assert f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层" in chinese.json()["detail"]


async def test_json_deeper_than_the_limit_names_where_and_the_limit_itself_is_kept(any_api):
    too_deep = await patch_raw(any_api, '{"preferences": ' + nested(MAX_JSON_DEPTH) + "}")
    assert_refused(too_deep, "preferences" + ".a" * (MAX_JSON_DEPTH - 1))
    deepest = nested(MAX_JSON_DEPTH - 2)  # the body and preferences are two levels
    kept = await patch_raw(any_api, '{"preferences": ' + deepest + "}")
    assert kept.status_code == 200, kept.text
    assert kept.json()["preferences"] == json.loads(deepest)


async def test_the_depth_limit_holds_for_every_json_body_not_one_route(any_api):
    sale = any_api.sale()
    sale["lines"][0]["name"] = json.loads(nested(40))  # a wrong type, but deep first
    assert_refused(await any_api.buy(sale), "lines[0].name" + ".a" * (MAX_JSON_DEPTH - 3))


# 2. NUL characters -------------------------------------------------------------------------


async def test_a_nul_in_any_text_is_a_422_naming_the_field(any_api):
    api = any_api
    member = api.shop.member_id
    renamed = await api.call("PATCH", f"/members/{member}", "admin", {"name": "张\x00伟"})
    assert_refused(renamed, "name")
    assert "NUL" in renamed.json()["detail"]
    assert_refused(await api.call("GET", "/members", "read", params={"q": "张\x00"}), "q")
    sale = api.sale()
    sale["lines"][0]["sku"] = "69\x0001"
    assert_refused(await api.buy(sale), "lines[0].sku")
    adjust = {"points": 10, "reason": "补录\x00"}
    assert_refused(await api.call("POST", f"/members/{member}/points/adjust", "admin", adjust), "reason")
    keyed = await api.call("PATCH", f"/members/{member}", "admin", {"preferences": {"k\x00": 1}})
    assert_refused(keyed, "preferences.k\\x00")
    program = api.shop.program.id
    by_path = await api.call("GET", f"/programs/{program}/coupon-templates/A%00B", "read")
    assert_refused(by_path, "code")
    chinese = await api.call("GET", "/members", "read", params={"q": "\x00"}, lang="zh")
    assert "空字符" in chinese.json()["detail"]

    # nothing was written, and the same requests without the NUL work
    assert (await api.call("GET", f"/members/{member}", "read")).json()["name"] == "张伟"
    assert (await api.call("GET", "/members", "read", params={"q": "张"})).status_code == 200
    assert (await api.buy(api.sale())).status_code == 201


async def test_a_nul_in_a_console_form_or_search_is_refused_on_the_page(console):
    async with console.logged_in("manager") as client:
        search = await client.get("/console/members", params={"q": "张\x00"})
        assert search.status_code == 422 and "q 无效：含有空字符" in text_of(search.text)
        form = {"name": "李\x00四", "phone": "13900001111", "_csrf_token": csrf_of(client)}
        enrol = await client.post("/console/members/new", data=form)
        assert enrol.status_code == 422 and "name 无效：含有空字符" in text_of(enrol.text)


async def test_a_date_out_of_arithmetic_range_is_a_422_not_a_500(any_api):
    program = any_api.shop.program.id
    for path in (f"/programs/{program}/settlement", f"/programs/{program}/settlement.csv"):
        answer = await any_api.call("GET", path, "admin", params={"start": "0001-01-01", "end": "0001-08-01"})
        problem = assert_refused(answer, "input")
        assert "outside the range the server can compute with" in problem["detail"]


# 3. static files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/api/%00",
        "/static/api/swagger-ui/swagger-ui.css%00",
        "/console/static/console.js%00.png",
        "/console/static/%00",
    ],
)
async def test_a_nul_in_a_static_path_is_404(api, path):
    answer = await api.client.get(path)
    assert answer.status_code == 404, answer.text
    if path.startswith("/static"):
        assert answer.headers["content-type"] == PROBLEM and answer.json()["code"] == "not_found"


# 4. database unavailable -------------------------------------------------------------------


def _pg_ctl(cluster: ThrowawayCluster, action: str) -> None:
    data, sockets = cluster.root / "data", cluster.root / "sock"
    options = f"-p {cluster.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    _as_postgres(f'{cluster.bindir}/pg_ctl -D {data} -l {cluster.root}/log -w -o "{options}" {action}')


@pytest.fixture
async def pg_cluster(pg_server):
    """A PostgreSQL cluster of this test's own, which it may stop and start again."""
    import asyncpg

    cluster = await asyncio.to_thread(ThrowawayCluster(pg_bindir(), durable=False).start)
    try:
        connection = await asyncpg.connect(f"{cluster.dsn}/postgres")
        await connection.execute("CREATE DATABASE membership")
        await connection.close()
        settings = Settings(database_url=f"{cluster.dsn}/membership", secret_key=SECRET, pg_pool_size=4)
        await open_database(settings)
        await migrate()
        yield cluster, settings
        await close_database()
    finally:
        await asyncio.to_thread(cluster.stop)


@pytest.mark.postgres
async def test_requests_answer_503_with_retry_after_while_postgresql_is_down(pg_cluster):
    cluster, settings = pg_cluster
    shop = await make_shop()
    keys = await make_keys(shop)
    await make_staff(shop)
    app = app_for(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client, app, shop, keys)
        assert (await api.buy(api.sale())).status_code == 201
        console = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        assert (await log_in(console, "clerk")).status_code == 303

        await asyncio.to_thread(_pg_ctl, cluster, "-m fast stop")
        for answer in (
            await api.buy(api.sale()),  # the pooled connections were closed under it
            await api.call("GET", f"/members/{shop.member_id}", "read"),  # no server to connect to
            await api.buy(api.sale()),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == PROBLEM
            assert int(answer.headers["retry-after"]) > 0
            assert answer.json()["code"] == "database_unavailable"
        for lang, text in (("en", "database cannot be reached"), ("zh", "数据库暂时无法连接")):
            assert text in (await api.call("GET", "/members", "read", lang=lang)).json()["detail"]
        page = await console.get("/console/counter")
        assert page.status_code == 503 and "retry-after" in page.headers
        assert "数据库暂时无法连接" in page.text

        await asyncio.to_thread(_pg_ctl, cluster, "start")
        for _ in range(50):  # the pool reconnects by itself
            answer = await api.buy(api.sale())
            if answer.status_code != 503:
                break
            await asyncio.sleep(0.2)
        assert answer.status_code == 201, answer.text
        assert (await console.get("/console/counter")).status_code == 200
        await console.aclose()


def test_a_locked_sqlite_file_is_unavailable_and_a_wrong_statement_is_not(tmp_path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as wrong:
        holder.execute("SELECT nothing FROM t")
    holder.close()
    other.close()
    assert is_unavailable(locked.value)
    assert not is_unavailable(wrong.value)
    assert not is_unavailable(RuntimeError("a bug"))
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError as exc:
            raise RuntimeError("pool") from exc
    except RuntimeError as chained:
        assert is_unavailable(chained)


# 5. security headers -----------------------------------------------------------------------


def _header_names(answer: httpx.Response) -> dict[str, str]:
    return {name: answer.headers.get(name, "") for name in ("x-content-type-options", "x-frame-options")}


async def test_every_answer_carries_the_security_headers(api):
    answers = {
        "console page": await api.client.get("/console/login"),
        "console 404": await api.client.get("/console/nowhere"),
        "console static": await api.client.get("/console/static/console.js"),
        "api": await api.call("GET", "/members", "read"),
        "api problem": await api.call("GET", "/members", None),
        "health": await api.client.get("/api/v1/health"),
        "docs": await api.client.get("/schema/swagger"),
        "schema": await api.client.get("/schema/openapi.json"),
    }
    for what, answer in answers.items():
        assert _header_names(answer) == {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}, what
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], what
        assert answer.headers["referrer-policy"] in ("same-origin", "no-referrer"), what
    console_policy = answers["console page"].headers["content-security-policy"]
    script_src = next(d for d in console_policy.split("; ") if d.startswith("script-src"))
    assert script_src.startswith("script-src 'self' 'unsafe-hashes' 'sha256-")
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert answers["console page"].headers["referrer-policy"] == "same-origin"
    assert answers["api"].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answers["api"].headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in answers["api"].headers
    secure = await api.client.get("https://testserver/api/v1/health")
    assert secure.headers["strict-transport-security"].startswith("max-age=")


# 6. CSRF bound to the session --------------------------------------------------------------


def plant_csrf(client: httpx.AsyncClient, token: str) -> None:
    """Put ``token`` in the client's CSRF cookie, as a cookie planted by someone else would be."""
    jar = client.cookies.jar
    for cookie in [c for c in jar if c.name == "csrftoken"]:
        jar.clear(cookie.domain, cookie.path, cookie.name)
        client.cookies.set("csrftoken", token, domain=cookie.domain, path=cookie.path)


async def test_a_csrf_token_of_one_session_is_refused_in_another(console):
    async with console.logged_in("manager") as manager, console.logged_in("clerk") as clerk:
        await manager.get("/console/counter")
        await clerk.get("/console/counter")
        foreign = csrf_of(manager)
        assert foreign != csrf_of(clerk)
        form = {"language": "en", "next": "/console/counter"}

        # the manager's token, as cookie and field, with the clerk's session: refused
        plant_csrf(clerk, foreign)
        refused = await clerk.post("/console/language", data={**form, "_csrf_token": foreign})
        assert refused.status_code == 403
        refused = await clerk.post("/console/language", data=form, headers={"x-csrftoken": foreign})
        assert refused.status_code == 403

        # the clerk's own token (a fresh page gives a new one) works; the manager's still works for them
        await clerk.get("/console/counter")
        own = csrf_of(clerk)
        assert own != foreign
        assert (await clerk.post("/console/language", data={**form, "_csrf_token": own})).status_code == 303
        assert (await manager.post("/console/language", data={**form, "_csrf_token": foreign})).status_code == 303


async def test_logging_in_and_out_gives_a_new_token_and_retires_the_old(console):
    async with console.client() as client:
        await client.get("/console/login")
        anonymous = csrf_of(client)
        assert (await log_in(client, "clerk")).status_code == 303
        logged_in = csrf_of(client)  # sent with the login answer itself
        assert logged_in != anonymous
        form = {"language": "en", "next": "/console/counter"}
        plant_csrf(client, anonymous)
        assert (await client.post("/console/language", data={**form, "_csrf_token": anonymous})).status_code == 403
        plant_csrf(client, logged_in)
        assert (await client.post("/console/language", data={**form, "_csrf_token": logged_in})).status_code == 303
        assert (await client.post("/console/logout", data={"_csrf_token": logged_in})).status_code == 303
        assert csrf_of(client) != logged_in
        plant_csrf(client, logged_in)
        page = await client.post(
            "/console/login", data={"username": "clerk", "password": PASSWORD, "_csrf_token": logged_in}
        )
        assert page.status_code == 403


# 7. OpenAPI: closed bodies -----------------------------------------------------------------


def _structs() -> dict[str, type[msgspec.Struct]]:
    """Every msgspec Struct class by name (names used twice are left out)."""
    found: dict[str, list[type[msgspec.Struct]]] = {}
    todo = list(msgspec.Struct.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found.setdefault(cls.__name__, []).append(cls)
    return {name: classes[0] for name, classes in found.items() if len(classes) == 1}


async def test_the_schema_says_additional_properties_false_where_unknown_fields_are_refused(api):
    schema = (await api.client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    body = schema["paths"]["/api/v1/transactions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    transaction = components[body["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert transaction["additionalProperties"] is False
    line = transaction["properties"]["lines"]["items"]["$ref"].rsplit("/", 1)[1]
    assert components[line]["additionalProperties"] is False

    structs = _structs()
    checked = 0
    for name, component in components.items():
        if name not in structs:
            continue
        forbids = structs[name].__struct_config__.forbid_unknown_fields
        assert (component.get("additionalProperties") is False) == forbids, name
        checked += 1
    assert checked >= 20

    unknown = await api.buy({**api.sale(), "discount_everything": True})
    assert unknown.status_code == 422 and "discount_everything" in unknown.text
