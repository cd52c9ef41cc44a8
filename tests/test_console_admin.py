"""Administration pages: stores, staff, API keys (secret shown once), settings, the audit log with
filters, the plugins page, and a plugin's own console page."""

from __future__ import annotations

import pytest

from membership.access.service import _verified, authenticate
from membership.db import fetch, fetch_one
from membership.errors import Unauthorized
from membership.org.service import get_program
from tests.console_client import Console, csrf_of, log_in, text_of


async def test_an_owner_adds_a_store_and_a_clerk_bound_to_it_who_can_then_log_in(console):
    async with console.logged_in("owner") as client:
        added = await client.post(
            "/console/stores", data={"code": "S9", "name": "九号店", "city": "成都", "_csrf_token": csrf_of(client)}
        )
        assert added.status_code == 303 and added.headers["location"] == "/console/stores?done=store"
        assert "已添加门店" in (page := (await client.get(added.headers["location"])).text) and "九号店" in page
        again = await client.post(
            "/console/stores", data={"code": "S9", "name": "重复", "_csrf_token": csrf_of(client)}
        )
        assert again.status_code == 422 and "已存在" in again.text and 'value="重复"' in again.text
        store = await fetch_one("SELECT id FROM store WHERE code = 'S9'")
        form = {"username": "xiaoli", "display_name": "小李", "role": "clerk", "store": str(store["id"])}
        created = await client.post(
            "/console/staff", data={**form, "password": "Xiaoli-2026", "_csrf_token": csrf_of(client)}
        )
        assert created.status_code == 303
        weak = await client.post(
            "/console/staff", data={**form, "username": "x2", "password": "short", "_csrf_token": csrf_of(client)}
        )
        assert weak.status_code == 422 and "至少 8 个字符" in weak.text and "short" not in weak.text
    async with console.client() as clerk:
        assert (await log_in(clerk, "xiaoli", "Xiaoli-2026")).status_code == 303
        assert "九号店" in (await clerk.get("/console/counter")).text
    audit = await fetch("SELECT actor, action FROM audit_log WHERE action = 'staff.create' AND actor = 'staff:owner'")
    assert len(audit) == 1


async def test_a_disabled_account_is_logged_out_at_once_and_cannot_log_in(console):
    async with console.logged_in("clerk") as clerk, console.logged_in("owner") as owner:
        clerk_id = (await fetch_one("SELECT id FROM staff WHERE username = 'clerk'"))["id"]
        owner_id = (await fetch_one("SELECT id FROM staff WHERE username = 'owner'"))["id"]
        confirmed = {"confirm": "yes", "_csrf_token": csrf_of(owner)}
        myself = await owner.post(f"/console/staff/{owner_id}/disable", data=confirmed)
        assert myself.status_code == 422 and "不能停用自己的账号" in myself.text
        one_click = await owner.post(f"/console/staff/{clerk_id}/disable", data={"_csrf_token": csrf_of(owner)})
        assert one_click.status_code == 422 and "请先确认" in one_click.text
        assert (await clerk.get("/console/counter")).status_code == 200
        disabled = await owner.post(f"/console/staff/{clerk_id}/disable", data=confirmed)
        assert disabled.status_code == 303
        assert (await clerk.get("/console/counter")).status_code in (302, 303)
    async with console.client() as client:
        assert (await log_in(client, "clerk")).status_code != 303


async def test_an_api_key_secret_is_shown_once_works_and_is_revoked_from_the_console(console):
    async with console.logged_in("owner") as client:
        form = {"name": "一号收银机", "pos": "1", "rate_limit": "50", "_csrf_token": csrf_of(client)}
        created = await client.post("/console/api-keys", data=form)
        assert created.status_code == 200 and "不会再次显示" in created.text
        secret = created.text.split("data-secret>")[1].split("<")[0]
        info = await authenticate(secret)
        assert info.name == "一号收银机" and info.merchant_id == console.shop.merchant_id and info.rate_limit == 50
        listing = await client.get("/console/api-keys")
        assert secret not in listing.text and f"mk_{secret.split('_')[1]}_…" in listing.text
        bad = await client.post("/console/api-keys", data={**form, "pos": "", "_csrf_token": csrf_of(client)})
        assert bad.status_code == 422 and "scopes" in bad.text
        one_click = await client.post(
            f"/console/api-keys/{secret.split('_')[1]}/revoke", data={"_csrf_token": csrf_of(client)}
        )
        assert one_click.status_code == 422 and "请先确认" in one_click.text
        assert (await authenticate(secret)).name == "一号收银机"
        revoked = await client.post(
            f"/console/api-keys/{secret.split('_')[1]}/revoke", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert revoked.status_code == 303
    _verified.clear()  # the key cache would let a revoked key through for up to 10 s
    with pytest.raises(Unauthorized):
        await authenticate(secret)
    actions = [
        row["action"]
        for row in await fetch("SELECT action FROM audit_log WHERE action LIKE 'api_key.%' ORDER BY occurred_at")
    ]
    assert actions == ["api_key.create", "api_key.revoke"]


async def test_settings_change_the_zone_and_refuse_a_new_currency_once_sales_exist(console):
    from membership.ledger.rules import LineInput
    from membership.sales import service as sales

    shop = console.shop
    async with console.logged_in("manager") as client:
        page = (await client.get("/console/settings")).text
        assert 'href="/console/loyalty/policy"' in page and "points_expiry_days" not in page  # one place sets it
        form = {"time_zone": "Asia/Hong_Kong", "currency": "CNY", "_csrf_token": csrf_of(client)}
        saved = await client.post("/console/settings", data=form)
        assert saved.status_code == 303
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 100)])
        refused = await client.post(
            "/console/settings", data={**form, "currency": "HKD", "_csrf_token": csrf_of(client)}
        )
        assert refused.status_code == 422 and "会员方案已有 CNY 交易" in text_of(refused.text)
        nonsense = await client.post(
            "/console/settings", data={**form, "time_zone": "Mars/Olympus", "_csrf_token": csrf_of(client)}
        )
        assert nonsense.status_code == 422
    from membership.org import service as org

    org._programs.clear()
    program = await get_program(shop.program.id)
    assert (program.time_zone, program.currency, program.points_expiry_days) == ("Asia/Hong_Kong", "CNY", 365)
    change = await fetch_one("SELECT actor, details FROM audit_log WHERE action = 'program.settings'")
    assert change["actor"] == "staff:manager" and "Asia/Hong_Kong" in str(change["details"])


async def test_the_audit_log_filters_by_action_and_shows_only_this_merchants_entries(console):
    from tests.helpers import make_shop

    other = await make_shop()
    from membership.members import service as members

    await members.get_member(other.member_id, reveal=True, actor="staff:elsewhere")
    async with console.logged_in("manager") as manager:
        await manager.post(f"/console/members/{console.shop.member_id}/reveal", data={"_csrf_token": csrf_of(manager)})
    async with console.logged_in("owner") as client:
        everything = text_of((await client.get("/console/audit")).text)
        reveals = text_of((await client.get("/console/audit", params={"action": "member.view"})).text)
        none = text_of(
            (await client.get("/console/audit", params={"action": "member.view", "since": "2099-01-01"})).text
        )
    assert "staff.login" in everything and "staff:elsewhere" not in everything
    assert "1 条记录" in reveals and "staff:manager" in reveals and "staff.login" not in reveals
    assert "0 条记录" in none
    async with console.logged_in("owner") as client:
        unreadable = text_of((await client.get("/console/audit", params={"since": "abc"})).text)
    assert "1990-05-17" in unreadable  # said, not silently ignored


async def test_the_plugins_page_lists_builtins_and_what_they_registered(console):
    from membership.jobs.runner import run_job

    await run_job("review-tiers", lambda done, total: None)
    async with console.logged_in("manager") as client:
        page = text_of((await client.get("/console/plugins")).text)
    assert "membership.builtin.points" in page and "points_awards" in page and "expire-points" in page
    assert "定时任务及最近运行" in page and "20 2 * * *" in page  # each job's schedule and last run
    assert "复核 0 位会员的等级" in page


async def test_a_plugin_page_is_served_with_its_namespaced_template_to_its_roles_only(db, register_plugin):
    from membership.testing import app_for
    from tests.console_client import make_staff
    from tests.example_plugin import console as example
    from tests.helpers import make_shop

    register_plugin(example, name="example-console")
    shop = await make_shop()
    await make_staff(shop)
    app = Console(app_for(db), shop)
    async with app.logged_in("manager") as manager:
        page = await manager.get("/console/example/shelf")
        counter = await manager.get("/console/counter")
    assert page.status_code == 200 and "3 labels to print" in page.text
    assert 'href="/console/example/shelf"' in counter.text and "货架标签" in counter.text
    async with app.logged_in("clerk") as clerk:
        assert (await clerk.get("/console/example/shelf")).status_code == 403
        assert "/console/example/shelf" not in (await clerk.get("/console/counter")).text
