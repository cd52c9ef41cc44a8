"""The console in a real headless Chromium against a real server: log in, find a member by phone,
record a purchase at the counter, switch language. Screenshots of the pages are written to
``test-output/screenshots`` (``MEMBERSHIP_TEST_OUTPUT`` moves the folder)."""

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

    purchase = member.locator("form[hx-post$='/purchase']")
    purchase.locator("input[name=amount]").fill("88.00")
    purchase.locator("button").click()
    expect(page.locator("#member .notice")).to_contain_text("已记录消费 ¥88.00")
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
    page.fill("input[name=points]", "200")
    page.fill("input[name=reason]", "开业活动赠送")
    page.click("form[action$='/points'] button")
    expect(page.locator(".notice")).to_have_text("积分已调整 +200。")
    expect(page.locator(".points")).to_have_text("200")
    expect(page.locator(".ledger .reason").first).to_contain_text("开业活动赠送")
    page.screenshot(path=SHOTS / "member-360.png", full_page=True)
