"""The counter in a real headless Chromium against a real server: a cashier's sale of two lines
(one scanned and filled in from the store's recent items, one typed) at the gold tier's price,
with a coupon, paid with stored value and cash, checked on the review and printed as a receipt;
a void inside the clerk's window; a void past it, refused to the clerk and approved by a manager
who types their name and password on the same screen; the counter on a 390 px phone without
horizontal scrolling. Screenshots in Chinese and English go to ``test-output/screenshots``."""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any

import pytest
from playwright.sync_api import expect

from membership.config import Settings
from membership.db import close_database, fetch, open_database
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.sales import service as sales
from membership.tiers import service as tiers
from tests.conftest import SECRET, _run_sync, _serving
from tests.console_client import PASSWORD, make_staff
from tests.test_console_browser import SHOTS, log_in

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def counter_server(tmp_path_factory, sqlite_template):
    """A real server over a shop whose member 张伟 (138 1234 5678) is gold (95折), holds a ¥10
    coupon and ¥50 of stored value, and bought a 拿铁 (SKU 6901, ¥30.00, 饮品) two hours ago."""
    from membership.coupons import service as coupons
    from tests.helpers import make_shop

    folder = tmp_path_factory.mktemp("counter")
    shutil.copy(sqlite_template, folder / "membership.db")
    settings = Settings(database_url=f"sqlite:///{folder / 'membership.db'}", secret_key=SECRET, base_dir=folder)
    found: dict[str, Any] = {}

    async def prepare() -> None:
        await open_database(settings)
        shop = await make_shop()
        await make_staff(shop)
        await tiers.configure(
            shop.program.id, [{"code": "gold", "name": "金卡", "threshold": 0, "discount_pct": 5}], None, "t"
        )
        await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", shop.member_id)
        template = {"code": "ten-off", "name": "满50减10", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
        await coupons.create_template(shop.program.id, template)
        await coupons.issue(shop.program.id, "ten-off", [shop.member_id])
        two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        old = await sales.record_purchase(
            shop.program.id,
            shop.store_id,
            shop.member_id,
            [LineInput("6901", 1, 3_000, "拿铁", "饮品")],
            now=two_hours_ago,
        )
        await ledger.top_up(shop.member_id, 5_000, shop.store_id)
        found.update(shop=shop, old_sale=old.id)
        await close_database()

    _run_sync(prepare())
    with _serving(folder, settings) as url:
        yield {"url": url, **found}


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def open_member(page, url: str, username: str = "clerk") -> Any:
    log_in(page, url, username)
    expect(page).to_have_url(f"{url}/console/counter")
    page.wait_for_function("() => window.htmx !== undefined")  # the deferred scripts ran
    page.fill("#identify-q", "138 1234 5678")
    page.press("#identify-q", "Enter")
    member = page.locator("#member .member")
    expect(member.locator("h2")).to_have_text("张伟")
    return member


def scan(page, code: str) -> None:
    page.fill("#scan-input", code)
    page.press("#scan-input", "Enter")


def test_a_cashier_sells_two_lines_at_the_tier_price_with_a_coupon_stored_value_and_cash(page, counter_server):
    url = counter_server["url"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    member = open_member(page, url)
    expect(member.locator(".badge.benefit")).to_contain_text("95折")
    scan(page, "6901")  # sold before: comes back as 拿铁, 饮品, ¥30.00
    lines = page.locator("#cart-lines [data-line]")
    expect(lines).to_have_count(1)  # the empty starting line made way
    expect(lines.nth(0).locator("input[name=name]")).to_have_value("拿铁")
    expect(lines.nth(0).locator("input[name=price]")).to_have_value("30.00")
    lines.nth(0).locator("input[name=quantity]").fill("2")
    scan(page, "6902")  # never sold: the clerk types the rest
    expect(lines).to_have_count(2)
    lines.nth(1).locator("input[name=name]").fill("三文鱼")
    lines.nth(1).locator("input[name=category]").fill("生鲜")
    lines.nth(1).locator("input[name=price]").fill("45")
    sale = page.locator("#sale-form")
    sale.locator("input[name=coupon]").check()
    sale.locator("input[name=stored_value]").fill("50")
    sale.locator("select[name=tender]").select_option("cash")
    page.screenshot(path=SHOTS / "counter-sale-zh.png", full_page=True)
    member.locator("button.checkout").click()

    review = page.locator("#member .review")
    expect(review.locator(".total")).to_have_text("¥89.75")
    expect(review.locator(".tier-discount")).to_contain_text("会员折扣 金卡 95折")
    expect(review.locator(".tier-discount")).to_contain_text("−¥5.25")
    expect(review.locator(".coupon-discount")).to_contain_text("满50减10")
    expect(review.locator(".paid-with")).to_contain_text("储值卡¥50.00")
    expect(review.locator(".paid-with")).to_contain_text("现金¥39.75")
    expect(review.locator(".member-price").first).to_have_text("¥28.50")
    expect(review.locator(".earn")).to_contain_text("本单可得 89 积分")
    page.screenshot(path=SHOTS / "counter-review-zh.png", full_page=True)
    review.locator("form.confirm-sale button").click()

    done = page.locator("#member .done")
    expect(done).to_contain_text("已收款 ¥89.75")
    expect(page.locator("#member .stored-value")).to_have_text("¥0.00")
    expect(page.locator("#member .points")).to_have_text("117")  # 28 from the latte two hours ago
    page.screenshot(path=SHOTS / "counter-paid-zh.png", full_page=True)
    receipt = done.locator("a", has_text="打印小票").get_attribute("href")
    page.goto(f"{url}{receipt}")
    expect(page.locator(".receipt")).to_contain_text("三文鱼")
    expect(page.locator(".receipt .grand").first).to_contain_text("¥89.75")
    page.screenshot(path=SHOTS / "receipt-zh.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".bar")).to_be_hidden()  # only the receipt is printed
    width = page.evaluate("() => document.querySelector('.receipt').getBoundingClientRect().width")
    assert 250 < width < 290  # 72 mm of print (≈ 272 CSS px) on 80 mm paper


def test_a_clerk_voids_a_sale_inside_the_window(page, counter_server):
    url = counter_server["url"]
    member = open_member(page, url)
    line = page.locator("#cart-lines [data-line]").first
    line.locator("input[name=price]").fill("12.50")
    member.locator("button.checkout").click()
    page.locator("#member form.confirm-sale button").click()
    expect(page.locator("#member .done")).to_contain_text("已收款 ¥11.88")  # 95折 of ¥12.50
    page.locator("#member .done a", has_text="作废或退款").click()
    expect(page.locator("h1")).to_contain_text("的交易")
    expect(page.locator("input[name=approver]")).to_have_count(0)  # inside the window: no manager needed
    page.select_option("select[name=reason]", "录入错误")
    page.click("form.void-form button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("已退款 ¥11.88")
    expect(page.locator(".void-form")).to_contain_text("这笔交易已全部退款")
    page.screenshot(path=SHOTS / "counter-void-zh.png", full_page=True)


def test_a_void_past_the_window_is_refused_to_the_clerk_and_approved_by_a_manager(page, counter_server):
    url = counter_server["url"]
    log_in(page, url, "clerk")
    expect(page).to_have_url(f"{url}/console/counter")
    page.goto(f"{url}/console/counter/sales/{counter_server['old_sale']}")
    approval = page.locator("fieldset.approval")
    expect(approval).to_contain_text("超过 30 分钟")
    page.select_option("select[name=reason]", "顾客退货")
    approval.locator("input[name=approver]").fill("clerk")  # a clerk cannot approve their own void
    approval.locator("input[name=approver_password]").fill(PASSWORD)
    page.click("form.void-form button[type=submit]")
    expect(page.locator("fieldset.approval .warning")).to_contain_text("收银员不能为自己授权")
    expect(page.locator(".notice")).to_have_count(0)
    page.screenshot(path=SHOTS / "counter-void-approval-zh.png", full_page=True)
    page.select_option("select[name=reason]", "顾客退货")
    page.fill("fieldset.approval input[name=approver]", "manager")
    page.fill("fieldset.approval input[name=approver_password]", PASSWORD)
    page.click("form.void-form button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("已退款 ¥28.50")
    expect(page.locator(".refund-list")).to_contain_text("顾客退货")


def _no_sideways_scroll(page, name: str) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), (
        name,
        page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]"),
    )
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_the_counter_fits_a_390px_phone_in_chinese_and_english(phone, counter_server):
    url = counter_server["url"]
    for language in ("zh", "en"):
        if language == "en":
            phone.select_option("select[name=language]", "en")
            expect(phone.locator("nav")).to_contain_text("Counter")
            phone.fill("#identify-q", "138 1234 5678")
            phone.press("#identify-q", "Enter")
            expect(phone.locator("#member .member h2")).to_have_text("张伟")
        else:
            open_member(phone, url, "manager")
        _no_sideways_scroll(phone, f"counter-390-{language}")
        scan(phone, "6901")
        scan(phone, "6902")
        lines = phone.locator("#cart-lines [data-line]")
        lines.nth(1).locator("input[name=price]").fill("45")
        _no_sideways_scroll(phone, f"counter-390-cart-{language}")
        phone.locator("#member button.checkout").click()
        expect(phone.locator("#member .review .total")).to_be_visible()
        _no_sideways_scroll(phone, f"counter-390-review-{language}")
        phone.locator("#member form.edit-sale button").click()
        expect(phone.locator("#cart-lines [data-line]")).to_have_count(2)  # back with what was typed
        phone.locator("#panel-sales summary").click()
        phone.locator("#panel-sales a").first.click()
        expect(phone.locator(".void-form")).to_be_visible()
        _no_sideways_scroll(phone, f"counter-390-sale-{language}")
        phone.goto(f"{url}/console/counter")
    phone.select_option("select[name=language]", "zh_CN")
    expect(phone.locator("nav")).to_contain_text("前台")
