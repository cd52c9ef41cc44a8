"""The first run without the command line, and every program setting in forms.

The setup link: printed by `membership init` and `membership setup-link`, one use, 24 hours;
the wizard's four steps with errors beside their fields (in Chinese, what was typed kept); the
business created all or none; the wizard closed once a merchant exists. The settings page:
every setting editable and audited, errors under Chinese labels, the currency locked with its
reason. A real server over a fresh `membership init` folder walked in Chromium at 390 px, the
owner ending on the dashboard and then changing settings (screenshots in
``test-output/screenshots``)."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from membership.db import fetch, fetch_one, use_case
from membership.errors import ValidationError
from membership.org import service as org
from membership.org.first_run import SetupPlan, StoreRow, finish_setup
from membership.org.settings import ProgramSettings, settings_of
from membership.org.settings_form import FIELDS
from membership.org.setup_token import (
    SetupDone,
    SetupLinkInvalid,
    check_setup_token,
    issue_setup_token,
    spend_setup_token,
)
from tests.console_client import Console, csrf_of, text_of

OUTPUT = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
SHOTS = OUTPUT / "screenshots"
LINK = re.compile(r"http://[\w.:]+/console/setup\?token=[\w-]+")
OWNER_PASSWORD = "Yuexiang-2026"


@pytest.fixture
async def fresh(db):
    """The console over an empty, migrated database: no merchant yet."""
    from membership.testing import app_for

    return Console(app_for(db), None)


class _Form(HTMLParser):
    """What a browser would post from a page's form: inputs (checked boxes only), selected
    options, text areas; not the buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        name = named.get("name")
        if tag == "input" and name and "disabled" not in named:
            if named.get("type") not in ("checkbox", "radio") or "checked" in named:
                self.fields.setdefault(name, []).append(named.get("value", ""))
        elif tag == "select" and name and "disabled" not in named:
            self._select, self._first = name, None
        elif tag == "option" and self._select:
            self._first = self._first if self._first is not None else named.get("value", "")
            if "selected" in named:
                self.fields[self._select] = [named.get("value", "")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.fields.setdefault(self._select, [self._first or ""])
            self._select = None


def carried(page: str) -> dict[str, list[str]]:
    """The fields a wizard page posts back as it stands (what a browser sends)."""
    form = _Form()
    form.feed(page)
    return form.fields


async def post(client, page: str, **fields) -> object:
    """Post the wizard page ``page`` with ``fields`` typed (lists for repeated fields)."""
    form = carried(page)
    form["_csrf_token"] = [csrf_of(client)]
    for name, value in fields.items():
        form[name.replace("__", ".")] = value if isinstance(value, list) else [value]
    return await client.post("/console/setup", data=form)


def field_errors(page: str) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'class="field-error" role="alert">([^<]*)<', page)]


# --- the link ---------------------------------------------------------------------------------------


async def test_a_link_opens_the_wizard_until_it_expires_or_is_used(fresh):
    token = await issue_setup_token()
    expired = await issue_setup_token(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    async with fresh.client() as client:
        opened = await client.get("/console/setup", params={"token": token})
        assert opened.status_code == 200 and "设置会员系统" in opened.text and "商户名称" in opened.text
        for bad, reason in (("not-a-token", "不是本系统发出的"), (expired, "链接已过期"), ("", "不是本系统发出的")):
            refused = await client.get("/console/setup", params={"token": bad})
            assert refused.status_code == 403 and reason in refused.text, bad
            assert "membership setup-link" in refused.text and "Traceback" not in refused.text
        forged = await client.post("/console/setup", data={"token": "guess", "_csrf_token": csrf_of(client)})
        assert forged.status_code == 403 and "商户名称" not in forged.text  # no step without a link
    row = await fetch_one("SELECT token_hash FROM setup_token WHERE expires_at > {}", dt.datetime.now(dt.UTC))
    assert row is not None and token not in row["token_hash"]  # kept hashed

    other = await issue_setup_token()
    await use_case(spend_setup_token)(token)  # what finishing does: every open link is spent
    for used in (token, other):
        with pytest.raises(SetupLinkInvalid) as refused:
            await check_setup_token(used)
        assert "已经用过" in refused.value.detail("zh")


async def test_setup_link_and_init_print_a_link_that_opens_the_wizard(tmp_path):
    from membership.config import load_settings
    from membership.db import close_database, open_database

    init = _cli(tmp_path, "init").stdout
    again = _cli(tmp_path, "setup-link", "--port", "8123").stdout
    public = _cli(tmp_path, "setup-link", "--url", "https://vip.example.com/").stdout
    first, second = LINK.search(init)[0], LINK.search(again)[0]
    assert first.startswith("http://127.0.0.1:8000/console/setup?token=") and "24 小时内有效" in init
    assert second.startswith("http://127.0.0.1:8123/console/setup?token=")
    assert "https://vip.example.com/console/setup?token=" in public
    await open_database(load_settings(tmp_path / "membership.toml"))
    try:
        for link in (first, second):  # a new link leaves the earlier ones open
            await check_setup_token(link.partition("token=")[2])
    finally:
        await close_database()
    _cli(tmp_path, "init", "--no-input", "--merchant", "小店")
    refused = _cli(tmp_path, "setup-link", ok=False)
    assert refused.returncode == 1 and "setup_done" in refused.stderr and "Traceback" not in refused.stderr


def _cli(folder: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")} | {"COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


# --- the wizard -------------------------------------------------------------------------------------


async def test_the_owner_walks_the_wizard_through_mistakes_to_the_dashboard(fresh):
    token = await issue_setup_token()
    async with fresh.client() as client:
        page = (await client.get("/console/setup", params={"token": token})).text

        wrong = await post(client, page, merchant="", program="悦享会员", time_zone="Mars/Olympus", go="next")
        assert wrong.status_code == 422 and 'value="悦享会员"' in wrong.text  # what was typed stays
        assert field_errors(wrong.text) == ["必填", "未知时区 'Mars/Olympus'"]
        page = (await post(client, wrong.text, merchant="悦享咖啡", time_zone="Asia/Shanghai", go="next")).text
        assert 'value="S01"' in page and 'value="悦享咖啡总店"' in page  # a first store to start from

        page = (await post(client, page, go="add_store")).text
        assert 'value="S02"' in page
        twice = await post(
            client, page, store_code=["S01", "S01"], store_name=["悦享咖啡总店", ""], store_city=["上海", ""]
        )
        assert twice.status_code == 422 and field_errors(twice.text) == ["编码 S01 重复了", "必填"]
        assert 'value="上海"' in twice.text
        stores = {
            "store_code": ["S01", "S02"],
            "store_name": ["悦享咖啡总店", "南京西路店"],
            "store_city": ["上海", "上海"],
        }
        page = (await post(client, twice.text, **stores, go="next")).text
        assert "100 积分抵 1.00 元（1 积分 = 1 分）" in page and "用储值卡付的部分是否也积分" in page

        loyalty = {
            "point_value_minor": "2",
            "min_redeem_points": "十",
            "stored_value_earns": ["false"],
            "points_policy__expiry": "days_after",
            "points_policy__expiry_days": "",
            "points_policy__pending_days": "7",
            "go": "next",
        }
        wrong = await post(client, page, **loyalty)
        assert wrong.status_code == 422
        assert field_errors(wrong.text) == ["请填写整数，如 30", "选“获得后 N 天过期”时请填写天数"]
        assert 'value="十"' in wrong.text and "days_after" not in text_of(wrong.text)
        page = (
            await post(
                client, wrong.text, **{**loyalty, "min_redeem_points": "100", "points_policy__expiry_days": "365"}
            )
        ).text
        assert "老板账号" in page and "50 积分抵 1.00 元" in text_of(page) and "获得后 365 天过期" in text_of(page)

        back = (await post(client, page, go="back")).text  # back a step: the choices are still there
        assert 'value="100"' in back and 'value="365"' in back
        page = (await post(client, back, go="next")).text

        owner = {"username": "王", "display_name": "王老板", "password": OWNER_PASSWORD, "password_again": "other-2026"}
        wrong = await post(client, page, **owner, go="finish")
        assert wrong.status_code == 422 and 'value="王"' in wrong.text and 'value="王老板"' in wrong.text
        assert field_errors(wrong.text) == ["2 到 50 个字母、数字或 . _ @ -", "两次输入的密码不一样"]
        assert OWNER_PASSWORD not in wrong.text  # a password is never sent back
        done = await post(
            client, wrong.text, **{**owner, "username": "boss", "password_again": OWNER_PASSWORD}, go="finish"
        )
        assert done.status_code == 303 and done.headers["location"] == "/console/dashboard"
        dashboard = await client.get("/console/dashboard")
        assert dashboard.status_code == 200 and "王老板" in dashboard.text and "经营看板" in dashboard.text

        closed = await client.get("/console/setup", params={"token": token})
        assert closed.status_code in (302, 303) and closed.headers["location"] == "/console/login"
        late = await client.post("/console/setup", data={"token": token, "_csrf_token": csrf_of(client)})
        assert late.status_code == 404 and "/console/login" in late.text

    merchant = await fetch_one("SELECT id, name FROM merchant")
    assert merchant["name"] == "悦享咖啡"
    program = (await org.list_programs())[0]
    settings = settings_of(program)
    assert (program.name, settings.currency, settings.time_zone) == ("悦享会员", "CNY", "Asia/Shanghai")
    assert (settings.point_value_minor, settings.min_redeem_points, settings.stored_value_earns) == (2, 100, False)
    assert msgspec.to_builtins(settings.points_policy) | {} == {
        "pending_days": 7,
        "expiry": "days_after",
        "expiry_days": 365,
        "expiry_months": 12,
        "warn_days": 0,
        "expiry_time": "exact",
    }
    stores = await fetch("SELECT code, name, city FROM store ORDER BY code")
    assert stores == [
        {"code": "S01", "name": "悦享咖啡总店", "city": "上海"},
        {"code": "S02", "name": "南京西路店", "city": "上海"},
    ]
    staff = await fetch("SELECT username, display_name, role, merchant_id, language FROM staff")
    assert staff == [
        {
            "username": "boss",
            "display_name": "王老板",
            "role": "owner",
            "merchant_id": merchant["id"],
            "language": "zh_CN",
        }
    ]
    actions = [row["action"] for row in await fetch("SELECT action FROM audit_log WHERE actor = 'setup'")]
    assert {"program.settings", "staff.create", "setup.finish"} <= set(actions)


async def test_the_language_switch_keeps_what_was_typed(fresh):
    token = await issue_setup_token()
    async with fresh.client() as client:
        page = (await client.get("/console/setup", params={"token": token})).text
        english = await post(client, page, merchant="悦享咖啡", go="lang.en")
        assert english.status_code == 200 and "Business name" in english.text and 'value="悦享咖啡"' in english.text
        moved = await post(client, english.text, go="next")
        assert "Store code" in moved.text and carried(moved.text)["lang"] == ["en"]
        chinese = await post(client, moved.text, go="lang.zh_CN")
        assert "门店编码" in chinese.text and 'value="S01"' in chinese.text


def _plan(**changes) -> SetupPlan:
    plan = SetupPlan(
        merchant="悦享咖啡",
        program="悦享会员",
        currency="CNY",
        time_zone="Asia/Shanghai",
        stores=[StoreRow("S01", "总店", "上海"), StoreRow("S02", "二店", "")],
        settings={"point_value_minor": 2},
        username="boss",
        password=OWNER_PASSWORD,
        display_name="王老板",
    )
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


async def test_the_business_is_created_all_or_none(any_db):
    token = await issue_setup_token()
    for broken, field in (
        (_plan(password="short"), "password"),  # refused by the last write, the owner's account
        (_plan(stores=[StoreRow("S01", "总店"), StoreRow("S01", "又一家")]), "code"),
        (_plan(settings={"point_value_minor": 0}), "point_value_minor"),
    ):
        with pytest.raises(ValidationError) as refused:
            await finish_setup(broken, token)
        assert refused.value.params["field"] == field
        for table in ("merchant", "program", "store", "staff"):
            assert await fetch(f"SELECT id FROM {table}") == [], (field, table)
        await check_setup_token(token)  # the link is still good
    done = await finish_setup(_plan(), token)
    assert len(done.store_ids) == 2 and done.owner.role == "owner"
    with pytest.raises(SetupDone):
        await issue_setup_token()
    with pytest.raises(SetupDone):
        await finish_setup(_plan(merchant="第二家"), token)
    assert [row["name"] for row in await fetch("SELECT name FROM merchant")] == ["悦享咖啡"]


# --- the settings page ------------------------------------------------------------------------------

EVERY_CHANGE = {
    "name": "测试会员俱乐部",
    "time_zone": "Asia/Hong_Kong",
    "language": "en",
    "point_value_minor": "other",
    "point_value_other": "3",
    "min_redeem_points": "500",
    "stored_value_earns": ["false"],
    "points_payment_earns": ["false", "true"],
    "points_rounding": "half_up",
    "earning_base": "before_discounts",
    "points_policy.pending_days": "7",
    "points_policy.expiry": "end_of_year",
    "points_policy.expiry_days": "",
    "points_policy.expiry_months": "12",
    "points_policy.warn_days": "30",
    "tier_policy.metric": "spend",
    "tier_policy.window_days": "180",
    "tier_policy.period_days": "365",
    "tier_policy.grace_days": "15",
    "tier_policy.downgrade": "recalculate",
    "backdate_days": "5",
    "receipt_unique_per": "program",
    "retention_days": "730",
    "clerk_sale_limit_minor": "2,000.50",
    "clerk_void_minutes": "15",
    "points_transfer": ["false", "true"],
    "transfer_min_points": "10",
    "transfer_max_points": "5,000",
    "transfer_daily_max_points": "20000",
}


async def test_every_setting_is_edited_in_forms_and_audited(console):
    program_id = console.shop.program.id
    booked = await fetch_one("SELECT id FROM ledger_posting WHERE program_id = {} LIMIT 1", program_id)
    async with console.logged_in("owner") as client:
        page = (await client.get("/console/settings")).text
        for name in FIELDS:
            assert f'name="{name}"' in page, name
        assert 'placeholder="留空 = 一直保存"' in page
        shown = text_of(page)
        for label in (
            "积分抵现",
            "100 积分抵 1.00 元（1 积分 = 1 分）",
            "舍去零头",
            "四舍五入",
            "按优惠后实付",
            "按原价",
        ):
            assert label in shown, label
        for label in (
            "每家门店内",
            "整个方案内",
            "等级规则",
            "冻结天数",
            "用储值卡付的部分是否也积分",
        ):
            assert label in shown, label
        for key in ("after_discounts", "half_up", "floor", "receipt_unique_per", "points_policy", "days_after"):
            assert key not in shown, key  # names a Chinese reader never sees
        form = {**EVERY_CHANGE, "currency": "CNY", "_csrf_token": csrf_of(client)}
        saved = await client.post("/console/settings", data=form)
        assert saved.status_code == 303 and saved.headers["location"] == "/console/settings?done=settings"
        confirmed = re.sub(r"\s+", "", text_of((await client.get(saved.headers["location"])).text))
        assert "设置已保存" in confirmed and "修改了以下设置" in confirmed
        assert "积分取整：舍去零头→四舍五入" in confirmed
        assert "积分抵现：100积分抵1.00元（1积分=1分）→1积分=3分（100积分抵3.00元）" in confirmed
        assert "个人信息保存期限：一直保存→730天" in confirmed
        assert "收银员单笔限额：5000.00元→2000.50元" in confirmed and "收银员可作废时限：30分钟→15分钟" in confirmed
        again = await client.post("/console/settings", data={**form, "_csrf_token": csrf_of(client)})
        assert again.headers["location"] == "/console/settings?done=unchanged"
        assert "没有修改任何设置" in (await client.get(again.headers["location"])).text
        if not booked:  # the currency too, while nothing is booked in it
            currency = await client.post("/console/settings", data={"currency": "HKD", "_csrf_token": csrf_of(client)})
            assert currency.headers["location"] == "/console/settings?done=settings"

    org.forget_programs()
    settings = settings_of(await org.get_program(program_id))
    expected = {
        "name": "测试会员俱乐部",
        "currency": "CNY" if booked else "HKD",
        "time_zone": "Asia/Hong_Kong",
        "language": "en",
        "point_value_minor": 3,
        "min_redeem_points": 500,
        "stored_value_earns": False,
        "points_payment_earns": True,
        "points_rounding": "half_up",
        "earning_base": "before_discounts",
        "points_policy": {
            "pending_days": 7,
            "expiry": "end_of_year",
            "expiry_days": None,
            "expiry_months": 12,
            "warn_days": 30,
            "expiry_time": "exact",
        },
        "tier_policy": {
            "metric": "spend",
            "window_days": 180,
            "period_days": 365,
            "grace_days": 15,
            "downgrade": "recalculate",
        },
        "backdate_days": 5,
        "retention_days": 730,
        "receipt_unique_per": "program",
        "clerk_sale_limit_minor": 200_050,
        "clerk_void_minutes": 15,
        "points_transfer": True,
        "transfer_min_points": 10,
        "transfer_max_points": 5_000,
        "transfer_daily_max_points": 20_000,
    }
    assert set(expected) == set(ProgramSettings.__struct_fields__)  # every setting is in the form
    assert msgspec.to_builtins(settings) == expected
    audit = await fetch(
        "SELECT actor, details FROM audit_log WHERE action = 'program.settings' ORDER BY occurred_at, id"
    )
    assert [row["actor"] for row in audit] == ["staff:owner"] * (1 if booked else 2)
    changes = json.loads(audit[0]["details"]) if isinstance(audit[0]["details"], str) else audit[0]["details"]
    assert set(changes["changes"]) == set(expected) - {"currency"}
    assert changes["changes"]["points_rounding"] == ["floor", "half_up"]


async def test_settings_errors_sit_beside_their_fields_in_chinese_and_keep_what_was_typed(console):
    async with console.logged_in("manager") as client:  # the matrix lets a manager configure the program
        wrong = {
            "min_redeem_points": "abc",
            "retention_days": "10",
            "point_value_minor": "other",
            "point_value_other": "0",
            "tier_policy.window_days": "0",
            "points_policy.expiry": "days_after",
            "points_policy.expiry_days": "",
            "name": "",
            "_csrf_token": csrf_of(client),
        }
        refused = await client.post("/console/settings", data=wrong)
        assert refused.status_code == 422
        errors = field_errors(refused.text)
        assert "请填写整数，如 30" in errors and "应为 ≥ 30 的整数" in errors and "应为 ≥ 1 的整数" in errors
        assert "选“获得后 N 天过期”时请填写天数" in errors and len(errors) == 6
        assert 'value="abc"' in refused.text and 'value="10"' in refused.text and 'value="0"' in refused.text
        shown = text_of(refused.text)
        assert "没有保存" in shown
        for english in ("retention_days", "Expected", "min_redeem_points", "window_days", "Invalid"):
            assert english not in shown, english
    assert await fetch("SELECT id FROM audit_log WHERE action = 'program.settings'") == []
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/settings")).status_code == 403


async def test_the_currency_is_locked_once_there_are_transactions_and_says_why(console):
    from membership.ledger.rules import LineInput
    from membership.sales import service as sales

    shop = console.shop
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 100)])
    async with console.logged_in("owner") as client:
        page = (await client.get("/console/settings")).text
        assert re.search(r'<select id="f-currency" name="currency" disabled', page)
        assert "已锁定：会员方案已有 CNY 交易" in text_of(page)
        forced = await client.post("/console/settings", data={"currency": "HKD", "_csrf_token": csrf_of(client)})
        assert forced.status_code == 422
        assert any("会员方案已有 CNY 交易" in error for error in field_errors(forced.text))
    org.forget_programs()
    assert (await org.get_program(shop.program.id)).currency == "CNY"


# --- in a browser, over a real server -----------------------------------------------------------------


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_a_new_owner_sets_up_from_the_printed_link_then_changes_settings(chromium, tmp_path):
    from playwright.sync_api import expect

    from membership.db.throwaway import free_port
    from tests.conftest import _wait_for

    printed = _cli(tmp_path, "init").stdout
    token = LINK.search(printed)[0].partition("token=")[2]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")} | {"MEMBERSHIP_SCHEDULER": "false"}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "membership.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        _wait_for(f"{url}/api/v1/health", server)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{url}/console/setup?token={token}")
        expect(page.locator("h1")).to_have_text("设置会员系统")
        _no_sideways_scroll(page)
        page.click("button[value=next].primary")
        expect(page.locator("[data-setting] .field-error, .setting .field-error").first).to_have_text("必填")
        page.fill("#f-merchant", "悦享咖啡")
        page.screenshot(path=SHOTS / "setup-1-business.png", full_page=True)
        page.press("#f-merchant", "Enter")  # Enter moves on

        expect(page.locator("#f-store_code-0")).to_have_value("S01")
        page.fill("#f-store_city-0", "上海")
        page.click("button[value=add_store]")
        expect(page.locator("#f-store_code-1")).to_have_value("S02")
        page.fill("#f-store_name-1", "南京西路店")
        _no_sideways_scroll(page)
        page.screenshot(path=SHOTS / "setup-2-stores.png", full_page=True)
        page.click("button[value=next].primary")

        expect(page.locator("h2")).to_have_text("积分")
        page.select_option("#f-point_value_minor", "2")
        page.select_option("select[name='points_policy.expiry']", "end_of_year")
        page.fill("input[name='points_policy.pending_days']", "7")
        page.click("label.toggle[for='f-stored_value_earns']")  # off: stored value does not earn
        _no_sideways_scroll(page)
        page.screenshot(path=SHOTS / "setup-3-points.png", full_page=True)
        page.click("button[value=next].primary")

        expect(page.locator("h2")).to_have_text("老板账号")
        page.fill("#f-username", "boss")
        page.fill("#f-display_name", "王老板")
        page.click("button[value='lang.en']")
        expect(page.locator("h2")).to_have_text("Owner's account")
        expect(page.locator("#f-display_name")).to_have_value("王老板")
        _no_sideways_scroll(page)
        page.screenshot(path=SHOTS / "setup-4-owner-en.png", full_page=True)
        page.click("button[value='lang.zh_CN']")
        page.fill("#f-password", OWNER_PASSWORD)
        page.fill("#f-password_again", "not the same")
        page.click("button[value=finish].primary")
        expect(page.locator("#f-password_again ~ .field-error")).to_have_text("两次输入的密码不一样")
        page.fill("#f-password", OWNER_PASSWORD)
        page.fill("#f-password_again", OWNER_PASSWORD)
        _no_sideways_scroll(page)
        page.screenshot(path=SHOTS / "setup-4-owner.png", full_page=True)
        page.click("button[value=finish].primary")
        expect(page).to_have_url(f"{url}/console/dashboard")
        expect(page.locator(".who")).to_contain_text("王老板")

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{url}/console/settings")
        expect(page.locator("#f-point_value_minor")).to_have_value("2")
        page.select_option("#f-point_value_minor", "1")
        page.select_option("#f-points_rounding", "half_up")
        page.select_option("select[name='points_policy.expiry']", "days_after")
        page.fill("input[name='points_policy.expiry_days']", "365")
        page.fill("#f-retention_days", "1095")
        page.click(".form-actions button.primary")
        expect(page.locator(".notice")).to_have_text("设置已保存。")
        expect(page.locator(".changes")).to_contain_text("积分取整：舍去零头 → 四舍五入")
        expect(page.locator(".changes")).to_contain_text("50 积分抵 1.00 元（1 积分 = 2 分） → 100 积分抵 1.00 元")
        page.screenshot(path=SHOTS / "settings-zh.png", full_page=True)
        page.select_option("select[name=language]", "en")
        expect(page.locator("h1")).to_contain_text("Settings")
        page.screenshot(path=SHOTS / "settings-en.png", full_page=True)

        page.goto(f"{url}/console/setup?token={token}")  # the wizard is closed: the login page
        expect(page).to_have_url(f"{url}/console/login")
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()

    with sqlite3.connect(tmp_path / "membership.db") as connection:
        row = connection.execute("SELECT point_value_minor, stored_value_earns, settings FROM program").fetchone()
        stores = connection.execute("SELECT code, name, city FROM store ORDER BY code").fetchall()
    stored = json.loads(row[2])
    assert row[0] == 1 and not row[1]
    assert stored["points_rounding"] == "half_up" and stored["retention_days"] == 1095
    assert stored["points_policy"] | {} == {
        "pending_days": 7,
        "expiry": "days_after",
        "expiry_days": 365,
        "expiry_months": 12,
        "warn_days": 0,
        "expiry_time": "exact",
    }
    assert stores == [("S01", "悦享咖啡总店", "上海"), ("S02", "南京西路店", "")]
