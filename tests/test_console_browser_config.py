"""The shop owner's half of the console in a real headless Chromium against a real server: a tier
and a member-day rule created in forms (no JSON), a doubtful tier warned of and saved anyway, a
rule retired in two clicks, a report downloaded as XLSX and opened with openpyxl, the dashboard
filtered by a store, and the member pages and the owner's navigation at 390 px without horizontal
scroll. Screenshots in Chinese and English go to ``test-output/screenshots``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from membership.config import Settings
from membership.db import close_database, open_database
from tests.conftest import SECRET, _run_sync, _serving
from tests.console_client import PASSWORD

OUTPUT = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
SHOTS = OUTPUT / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory, sqlite_template):
    """A real server over a SQLite shop with staff, sales at two stores, a coupon and a note."""
    from membership.coupons import service as coupons
    from membership.ledger.rules import LineInput
    from membership.members.notes import add_note
    from membership.sales import service as sales
    from tests.console_client import make_staff
    from tests.helpers import make_shop

    folder = tmp_path_factory.mktemp("owner-console")
    shutil.copy(sqlite_template, folder / "membership.db")
    settings = Settings(database_url=f"sqlite:///{folder / 'membership.db'}", secret_key=SECRET, base_dir=folder)
    found = {}

    async def prepare() -> None:
        await open_database(settings)
        shop = found["shop"] = await make_shop()
        await make_staff(shop)
        buy = sales.record_purchase
        await buy(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 12_345)])
        await buy(shop.program.id, shop.other_store_id, shop.member_id, [LineInput("B", 1, 5_050)])
        await coupons.create_template(
            shop.program.id,
            {
                "code": "ten",
                "name": "满100减10",
                "kind": "amount_off",
                "amount_off": 1000,
                "min_spend": 10_000,
                "valid_days": 30,
            },
        )
        await add_note(shop.member_id, "喜欢靠窗的位置", "staff:manager")
        await close_database()

    _run_sync(prepare())
    with _serving(folder, settings) as url:
        yield url, found["shop"]


def _context(chromium, language: str = "zh-CN", viewport: dict | None = None):
    context = chromium.new_context(
        locale=language, viewport=viewport or {"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _log_in(page, url: str, username: str = "owner") -> None:
    page.goto(f"{url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header.bar")).to_be_visible()
    if page.locator("html").get_attribute("lang") != "zh-CN":  # the language is remembered per account
        page.select_option("select[name=language]", "zh_CN")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def _english(page, url: str) -> None:
    page.select_option("select[name=language]", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_an_owner_creates_a_tier_and_a_member_day_rule_in_forms(chromium, shop_server):
    url, _ = shop_server
    context, page = _context(chromium)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        _log_in(page, url)
        page.goto(f"{url}/console/loyalty/tiers")
        page.select_option("select[name=policy-metric]", "spend")
        page.fill("input[name=tiers-0-code]", "silver")
        page.fill("input[name=tiers-0-name]", "银卡")
        page.fill("input[name=tiers-0-threshold]", "99999")  # meant 999.99
        page.fill("input[name=tiers-0-discount_pct]", "98")
        page.click("button[name=more]")
        page.fill("input[name=tiers-1-code]", "gold")
        page.fill("input[name=tiers-1-name]", "金卡")
        page.fill("input[name=tiers-1-threshold]", "5000")
        page.fill("input[name=tiers-1-points_multiplier_pct]", "1.5")
        page.fill("input[name=tiers-1-discount_pct]", "9.5")
        page.locator("form.config-form button.primary").click()
        expect(page.locator(".warnings")).to_contain_text("“银卡”排在“金卡”前面")
        page.screenshot(path=SHOTS / "config-tiers-warning-zh.png", full_page=True)
        page.fill("input[name=tiers-0-threshold]", "999.99")
        page.locator("form.config-form button.primary").click()
        expect(page.locator(".notice")).to_have_text("设置已保存。")
        expect(page.locator("input[name=tiers-1-discount_pct]")).to_have_value("95")
        expect(page.locator("input[name=tiers-0-threshold]")).to_have_value("999.99")
        page.screenshot(path=SHOTS / "config-tiers-zh.png", full_page=True)

        page.goto(f"{url}/console/loyalty/rules")
        page.select_option("select[name=kind]", "member_day")  # the picker reloads the form for the kind
        expect(page.locator("input[name=p-multiplier_pct]")).to_be_visible()
        page.check("input[name=p-weekdays][value='3']")
        page.fill("input[name=p-multiplier_pct]", "2")
        page.fill("input[name=code]", "wed-double")
        page.fill("input[name=name]", "周三会员日双倍积分")
        page.fill("input[name=min_spend]", "10")
        page.locator("#rule-form form.config-form button.primary").click()
        expect(page.locator(".notice")).to_have_text("已添加规则。")
        row = page.locator("tr[data-rule='wed-double']")
        expect(row).to_contain_text("每周几：周三")
        expect(row).to_contain_text("倍数：2 倍")
        page.screenshot(path=SHOTS / "config-rules-zh.png", full_page=True)

        # one click does not retire it: the question opens, the second click does
        row.locator("details.confirm > summary").click()
        expect(row.locator(".confirm-box")).to_be_visible()
        page.screenshot(path=SHOTS / "config-rules-confirm-zh.png")
        row.locator(".confirm-box button[name=confirm]").click()
        expect(page.locator(".notice")).to_have_text("已停用规则。")

        page.goto(f"{url}/console/loyalty/coupons")
        page.screenshot(path=SHOTS / "config-coupons-zh.png", full_page=True)
        _english(page, url)
        for name in ("tiers", "rules", "coupons", "policy", "paid-plans", "top-up-plans"):
            page.goto(f"{url}/console/loyalty/{name}")
            page.screenshot(path=SHOTS / f"config-{name}-en.png", full_page=True)
        page.goto(f"{url}/console/loyalty/tiers")
        expect(page.locator("th").filter(has_text="Member discount")).to_contain_text("% off")
    finally:
        context.close()


def test_a_report_downloads_as_xlsx_with_chinese_headings_and_totals(chromium, shop_server, tmp_path):
    url, _ = shop_server
    context, page = _context(chromium)
    try:
        _log_in(page, url)
        page.goto(f"{url}/console/reports/sales_by_store")
        expect(page.locator("table.report thead")).to_contain_text("销售额（元）")
        expect(page.locator("table.report tfoot")).to_contain_text("合计")
        page.screenshot(path=SHOTS / "report-sales-by-store-zh.png", full_page=True)
        with page.expect_download() as download:
            page.click("text=下载 Excel")
        path = Path(tmp_path) / "report.xlsx"
        download.value.save_as(path)
        sheet = load_workbook(path).worksheets[0]
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert rows[0] == [
            "门店",
            "门店名称",
            "消费笔数",
            "消费会员",
            "销售额（元）",
            "客单价（元）",
            "发放积分（积分）",
        ]
        assert rows[-1] == ["合计", None, 2, None, 297.4, None, 296]  # one member at two stores: no sum
        page.goto(f"{url}/console/dashboard")
        page.select_option("select[name=store]", label="二号店")
        page.click("form.report-filters button")
        expect(page.locator(".figure").nth(2)).to_contain_text("¥50.50")
        page.screenshot(path=SHOTS / "dashboard-store-zh.png", full_page=True)
        _english(page, url)
        page.goto(f"{url}/console/reports/sales_by_store")
        expect(page.locator("table.report thead")).to_contain_text("Revenue (CNY)")
        page.screenshot(path=SHOTS / "report-sales-by-store-en.png", full_page=True)
    finally:
        context.close()


NO_SIDEWAYS = "() => document.documentElement.scrollWidth"
NAV_LINES = """() => [...document.querySelectorAll('header.bar nav a')].map(a => {
  const line = parseFloat(getComputedStyle(a).lineHeight);
  return [a.textContent.trim(), a.getClientRects().length, a.getBoundingClientRect().height / line];
})"""


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_member_pages_and_the_owners_navigation_fit_a_phone(chromium, shop_server, language):
    url, shop = shop_server
    context, page = _context(chromium, "zh-CN", PHONE)
    suffix = "zh" if language == "zh-CN" else "en"
    try:
        _log_in(page, url)
        if language == "en":
            _english(page, url)
        for name, path in (
            ("members", "/console/members"),
            ("member", f"/console/members/{shop.member_id}"),
            ("enrol", "/console/members/new"),
            ("dashboard", "/console/dashboard"),
            ("report", "/console/reports/sales_by_month"),
            ("tiers", "/console/loyalty/tiers"),
            ("rules", "/console/loyalty/rules"),
            ("coupons", "/console/loyalty/coupons"),
        ):
            page.goto(f"{url}{path}")
            width = page.evaluate(NO_SIDEWAYS)
            assert width <= PHONE["width"], f"{path} is {width} px wide at 390 px"
            for text, boxes, lines in page.evaluate(NAV_LINES):
                assert boxes == 1 and lines < 1.6, f"the menu entry {text!r} wraps ({lines:.1f} lines)"
            page.screenshot(path=SHOTS / f"phone-{name}-{suffix}.png", full_page=True)
        page.goto(f"{url}/console/members/{shop.member_id}")
        page.locator("details.edit-profile > summary").click()
        expect(page.locator("form.profile-form input[name=name]")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS) <= PHONE["width"]
        page.screenshot(path=SHOTS / f"phone-member-edit-{suffix}.png", full_page=True)
    finally:
        context.close()
