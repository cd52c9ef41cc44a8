"""The console in a real headless Chromium against a real server: log in, find a member by phone,
record a purchase at the counter, switch language, enrol and adjust points, see the dashboard's
charts drawn, a clerk refused the API-keys page, a form without its CSRF token refused.
Screenshots of the pages are written to ``test-output/screenshots`` (``MEMBERSHIP_TEST_OUTPUT`` moves the folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console_client import PASSWORD

OUTPUT = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
SHOTS = OUTPUT / "screenshots"


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/console/counter")
    expect(page).to_have_url(f"{url}/console/login?next=/console/counter")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_clerk_finds_a_member_by_phone_and_records_a_purchase(page, console_server):
    url = console_server.url
    page.goto(f"{url}/console/login")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "login.png")
    log_in(page, url, "clerk")
    expect(page).to_have_url(f"{url}/console/counter")
    expect(page.locator("#reader-state")).to_have_text("在线")  # the card-reader stream is connected
    page.screenshot(path=SHOTS / "counter.png")

    page.fill("#identify-q", "138 1234 5678")
    page.press("#identify-q", "Enter")
    member = page.locator("#member .member")
    expect(member.locator("h2")).to_have_text("张伟")
    expect(member).to_contain_text("138****5678")

    member.locator("#cart-lines input[name=price]").first.fill("88.00")
    member.locator("button.checkout").click()
    expect(page.locator("#member .review .total")).to_have_text("¥88.00")
    page.locator("#member form.confirm-sale button").click()
    expect(page.locator("#member .notice")).to_contain_text("已收款 ¥88.00")
    expect(page.locator("#member .points")).not_to_have_text("0")
    page.screenshot(path=SHOTS / "counter-member.png")


def test_a_wrong_password_is_refused_in_chinese(page, console_server):
    log_in(page, console_server.url, "clerk", "wrong-password")
    expect(page.locator(".error")).to_have_text("用户名或密码错误。")


def test_switching_to_english_is_remembered(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    expect(page).to_have_url(f"{url}/console/counter")
    page.select_option("select[name=language]", "en")
    expect(page.locator("nav")).to_contain_text("Counter")
    page.goto(f"{url}/console/help")
    expect(page.locator("h1")).to_have_text("Who may do what")
    page.screenshot(path=SHOTS / "help-en.png")
    page.select_option("select[name=language]", "zh_CN")
    expect(page.locator("h1")).to_have_text("岗位权限")


def test_a_manager_enrols_a_member_and_adjusts_their_points_with_a_reason(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    expect(page).to_have_url(f"{url}/console/counter")
    page.goto(f"{url}/console/members/new")
    page.fill("input[name=name]", "陈晨")
    page.fill("input[name=phone]", "12345")
    page.click("form.enrol button")
    expect(page.locator("input[name=phone] + .field-error")).to_contain_text("12345")  # beside the field
    page.fill("input[name=phone]", "13600001234")
    page.click("form.enrol button")
    expect(page.locator("h1")).to_have_text("陈晨")
    page.fill("form[action$='/points'] input[name=points]", "200")
    page.fill("form[action$='/points'] input[name=reason]", "开业活动赠送")
    page.click("form[action$='/points'] button")
    expect(page.locator(".notice")).to_have_text("积分已调整 +200。")
    expect(page.locator(".points")).to_have_text("200")
    expect(page.locator(".ledger .reason").first).to_contain_text("开业活动赠送")
    page.screenshot(path=SHOTS / "member-360.png", full_page=True)


PAINTED = """(selector) => {
  const canvas = document.querySelector(selector);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


def test_an_owner_sees_the_dashboard_charts_drawn_and_the_administration_pages(page, console_server):
    url = console_server.url
    log_in(page, url, "owner")
    expect(page).to_have_url(f"{url}/console/counter")
    page.click("nav >> text=经营看板")
    expect(page.locator(".figure").first).to_contain_text("会员")
    for chart in ("#chart-sales", "#chart-tiers", "#chart-buyers"):
        expect(page.locator(f"{chart} canvas")).to_be_visible()
    assert page.evaluate(PAINTED, "#chart-tiers canvas") > 2_000  # the pie is drawn, not an empty box
    page.screenshot(path=SHOTS / "dashboard.png", full_page=True)
    for path, name, heading in (
        ("stores", "stores", "门店"),
        ("staff", "staff", "员工"),
        ("api-keys", "api-keys", "API 密钥"),
        ("settings", "settings", "设置"),
        ("audit", "audit-log", "审计日志"),
        ("plugins", "plugins", "插件"),
        ("loyalty/rules", "loyalty-rules", "积分规则"),
        ("loyalty/tiers", "loyalty-tiers", "会员等级"),
        ("loyalty/coupons", "coupons", "优惠券"),
        ("members", "members", None),
    ):
        page.goto(f"{url}/console/{path}")
        if heading:
            expect(page.locator("h1")).to_contain_text(heading)
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_a_clerk_is_refused_the_api_keys_page(page, console_server):
    url = console_server.url
    log_in(page, url, "clerk")
    expect(page).to_have_url(f"{url}/console/counter")
    expect(page.locator("nav")).not_to_contain_text("API 密钥")
    answer = page.goto(f"{url}/console/api-keys")
    assert answer.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")


def test_a_form_without_its_csrf_token_is_refused(page, console_server):
    url = console_server.url
    log_in(page, url, "owner")
    expect(page).to_have_url(f"{url}/console/counter")
    page.goto(f"{url}/console/stores")
    page.fill("input[name=code]", "CSRF")
    page.fill("input[name=name]", "伪造的门店")
    page.evaluate("document.querySelector('form[action=\"/console/stores\"] input[name=_csrf_token]').remove()")
    with page.expect_response(f"{url}/console/stores") as posted:
        page.click("form[action='/console/stores'] button")
    assert posted.value.status == 403
    expect(page.locator("main")).to_contain_text("请求被拒绝")
    page.goto(f"{url}/console/stores")
    expect(page.locator("table.list")).not_to_contain_text("伪造的门店")
