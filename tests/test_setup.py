"""A business starts on the framework without the demo: `membership init` with its merchant,
program and first store, an owner, a till's key, an enrolment and a sale that follow the
program's own settings; setup and every setting through the API, checked and audited."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from membership.config import load_settings
from membership.db import close_database, fetch, open_database
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.org import service as org
from membership.org.settings import change_settings, settings_of
from membership.sales import service as sales
from tests.helpers import ledger_violations, make_shop


def _cli(folder, *args, env_extra=None, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")} | (env_extra or {})
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_env(request, tmp_path):
    """Nothing for SQLite (init writes the file); an empty PostgreSQL database otherwise."""
    if request.param == "sqlite":
        return {}
    import asyncio

    import asyncpg

    server = request.getfixturevalue("pg_server")
    name = f"setup_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(f"{server}/postgres")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()

    asyncio.run(create())
    return {"MEMBERSHIP_DATABASE_URL": f"{server}/{name}"}


async def test_from_a_fresh_folder_to_the_first_sale_without_the_demo(tmp_path, database_env):
    cli = lambda *args, **kw: _cli(tmp_path, *args, env_extra=database_env, **kw)  # noqa: E731
    options = ["--merchant", "悦享咖啡", "--program", "悦享会员", "--store-code", "SH01", "--store-name", "南京西路店"]
    first = cli("init", "--no-input", *options)
    assert "SH01" in first.stdout
    cli("program", "set", "point_value_minor=2", "min_redeem_points=100")
    cli("staff", "create", "boss", "--role", "owner", "--password", "Boss-pass-2026!")
    till = cli("api-key", "create", "--name", "till-1", "--scopes", "pos", "--store", "SH01").stdout
    secret = next(word for word in till.split() if word.startswith("mk_"))
    again = cli("init", "--no-input", *options)  # a second run sets nothing up twice
    assert "Database ready" in again.stdout and "商户 merchant" not in again.stdout

    settings = load_settings(tmp_path / "membership.toml")
    if database_env:
        settings = dataclasses.replace(settings, database_url=database_env["MEMBERSHIP_DATABASE_URL"])
    await open_database(settings)
    try:
        from membership.testing import app_for

        assert len(await org.list_merchants()) == 1 and len(await org.list_programs()) == 1
        transport = httpx.ASGITransport(app=app_for(settings))
        headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "zh"}

        async def key(request: httpx.Request) -> None:  # a till sends one with every write
            request.headers["Idempotency-Key"] = uuid.uuid4().hex

        hooks = {"request": [key]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://shop", headers=headers, event_hooks=hooks
        ) as api:
            member = await api.post("/api/v1/members", json={"name": "王芳", "phone": "13812345678"})
            assert member.status_code == 201, member.text
            member_id = member.json()["id"]
            sale = {
                "member_id": member_id,
                "lines": [{"sku": "6901", "name": "拿铁", "quantity": 10, "unit_price": 3_000}],
            }
            bought = await api.post("/api/v1/transactions", json=sale)
            assert bought.status_code == 201 and bought.json()["points_earned"] == 300, bought.text
            small = {**sale, "lines": [{"sku": "6902", "name": "可颂", "quantity": 1, "unit_price": 100}]}
            too_few = await api.post(
                "/api/v1/transactions", json={**small, "payments": [{"method": "points", "points": 50}]}
            )
            assert too_few.status_code == 409 and "至少使用 100 积分" in too_few.json()["detail"], too_few.text
            paid = {
                **sale,
                "lines": [{"sku": "6902", "name": "可颂", "quantity": 1, "unit_price": 1_000}],
                "payments": [{"method": "points", "points": 200}, {"method": "cash", "amount": 600}],
            }
            with_points = await api.post("/api/v1/transactions", json=paid)  # 200 points at 2 fen each pay 4.00
            assert with_points.status_code == 201, with_points.text
            assert with_points.json()["balances"]["points"] == 300 - 200 + 6
        assert await ledger_violations() == []
    finally:
        await close_database()


async def test_setup_and_settings_through_the_api(any_api):
    api = any_api
    global_admin = api.keys["global"]
    made = await api.call("POST", "/merchants", global_admin, {"name": "山水景区"})
    assert made.status_code == 201, made.text
    merchant = made.json()["id"]
    assert (await api.call("POST", "/merchants", "admin", {"name": "别家"})).status_code == 403
    body = {"name": "山水年卡会员", "merchant_id": merchant, "settings": {"min_redeem_points": 50, "backdate_days": 1}}
    program = await api.call("POST", "/programs", global_admin, body)
    assert program.status_code == 201, program.text
    assert program.json()["settings"]["min_redeem_points"] == 50
    assert program.json()["settings"]["points_policy"]["expiry"] == "never"  # the defaults are public too
    program_id = program.json()["id"]
    store = await api.call("POST", "/stores", global_admin, {"code": "GATE1", "name": "东门", "merchant_id": merchant})
    assert store.status_code == 201, store.text

    path = f"/programs/{program_id}/settings"
    changed = await api.call("PATCH", path, global_admin, {"points_rounding": "half_up", "point_value_minor": 10})
    assert changed.status_code == 200 and changed.json()["points_rounding"] == "half_up", changed.text
    for bad, field in (
        ({"points_rounding": "up"}, "points_rounding"),
        ({"backdate_days": 99}, "backdate_days"),
        ({"nonsense": 1}, "nonsense"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
    ):
        refused = await api.call("PATCH", path, global_admin, bad)
        assert refused.status_code == 422, refused.text
        assert field in refused.text
    # the shop's own merchant key cannot see or change another merchant's program
    assert (await api.call("PATCH", path, "admin", {"language": "en"})).status_code == 404
    audit = await fetch("SELECT actor, details FROM audit_log WHERE action = 'program.settings'")
    assert len(audit) == 2 and "half_up" in str(audit[-1]["details"]) and "floor" in str(audit[-1]["details"])

    own = f"/programs/{api.shop.program.id}/settings"
    await api.buy(api.sale())
    currency = await api.call("PATCH", own, "admin", {"currency": "HKD"}, lang="zh")
    assert currency.status_code == 422 and "不能更改币种" in currency.json()["detail"]

    closed = await api.call("PATCH", f"/stores/{api.shop.other_store_id}", "admin", {"active": False})
    assert closed.status_code == 200 and closed.json()["active"] is False
    at_closed = await api.buy(api.sale(store_id=str(api.shop.other_store_id)))
    assert at_closed.status_code == 409 and at_closed.json()["code"] == "store_closed"
    listed = (await api.call("GET", "/stores", "read")).json()
    assert {s["code"]: s["active"] for s in listed} == {"S1": True, "S2": False}


async def test_the_settings_change_what_a_sale_earns(any_db):
    shop = await make_shop()
    program, store, member = shop.program.id, shop.store_id, shop.member_id
    line = [LineInput("A", 1, 1_250)]  # 12.50: 12 points rounded down, 13 half up
    assert (await sales.record_purchase(program, store, member, line)).points_earned == 12
    await change_settings(program, {"points_rounding": "half_up"}, "test")
    assert (await sales.record_purchase(program, store, member, line)).points_earned == 13

    await ledger.adjust_points(member, 1_000, "开卡礼", "test")
    paid = [sales.PaymentInput("points", points=250), sales.PaymentInput("cash", 1_000)]
    assert (await sales.record_purchase(program, store, member, line, paid)).points_earned == 10
    await change_settings(program, {"points_payment_earns": True, "stored_value_earns": False}, "test")
    assert (await sales.record_purchase(program, store, member, line, paid)).points_earned == 13

    await change_settings(program, {"receipt_unique_per": "program"}, "test")
    await sales.record_purchase(program, store, member, line, receipt_no="R-1")
    from membership.errors import DuplicateReceipt

    with pytest.raises(DuplicateReceipt):  # the same number at the other store of the program
        await sales.record_purchase(program, shop.other_store_id, member, line, receipt_no="R-1")
    current = settings_of(await org.get_program(program))
    assert (current.points_rounding, current.receipt_unique_per, current.stored_value_earns) == (
        "half_up",
        "program",
        False,
    )


def test_cli_errors_on_settings_are_one_line(tmp_path):
    _cli(tmp_path, "init", "--no-input", "--merchant", "小店")
    bad = _cli(tmp_path, "program", "set", "points_rounding=sideways", ok=False)
    assert bad.returncode == 1 and "points_rounding" in bad.stderr and "Traceback" not in bad.stderr
    shown = _cli(tmp_path, "program", "show").stdout
    assert "最低兑换积分" in shown and "min_redeem_points" in shown
    _cli(tmp_path, "store", "create", "S02", "二店", "--city", "杭州")
    _cli(tmp_path, "store", "update", "S02", "--address", "西湖路 1 号")
    _cli(tmp_path, "store", "close", "S02")
    listed = _cli(tmp_path, "store", "list").stdout
    assert "西湖路 1 号" in listed and "闭店 closed" in listed
