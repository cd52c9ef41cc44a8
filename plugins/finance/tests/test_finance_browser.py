"""The pack's console pages in a real headless Chromium against the demo bank (``membership serve
--demo --industry finance`` in a child process): a cardholder found by card, a wrong card number
refused beside its field, a consent recorded, an MCC rule added in its form, the assets page and a
statement; every page in Chinese and then in English, with screenshots in
``test-output/screenshots/finance-*.png`` (``MEMBERSHIP_TEST_OUTPUT`` moves the folder)."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

OUTPUT = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).resolve().parents[3] / "test-output"))
SHOTS = OUTPUT / "screenshots"


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _member_no(server) -> str:
    request = urllib.request.Request(
        f"{server.base}/api/v1/members?page_size=1", headers={"Authorization": f"Bearer {server.key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["items"][0]["member_no"]


def _log_in(page, server) -> None:
    page.goto(f"{server.base}/console/login")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", server.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/"))


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"finance-{name}.png", full_page=True)


def test_the_pack_pages_in_a_browser_in_chinese_and_english(page, demo_server):
    member_no = _member_no(demo_server)
    _log_in(page, demo_server)
    page.goto(f"{demo_server.base}/console/finance")
    expect(page.locator("h1")).to_contain_text("银行卡会员")
    expect(page.locator("form.enrol")).to_be_visible()
    page.fill("form.enrol input[name=name]", "周敏")
    page.fill("form.enrol input[name=id_number]", "110105194912310021")
    page.click("form.enrol button[type=submit]")
    expect(page.locator("input[name=id_number] + .field-error")).to_have_text("身份证号码校验位不符，请核对")
    expect(page.locator("form.enrol input[name=name]")).to_have_value("周敏")
    _shoot(page, "enrol-zh")

    page.fill("form.identify input[name=q]", member_no)
    page.press("form.identify input[name=q]", "Enter")
    member = page.locator("section.member")
    expect(member.locator(".cards code").first).to_contain_text(re.compile(r"^621888\*{6}\d{4}$"))
    page.fill("input[name=number]", "6218 8800 0000 0001")
    page.click("form[action='/console/finance/cards'] button")
    expect(page.locator("input[name=number] + .field-error")).to_have_text("银行卡号校验不通过，请核对卡号是否输错")
    page.locator("tr[data-purpose=third_party_sharing] button").click()
    expect(page.locator(".notice")).to_have_text("授权已更新")
    expect(page.locator("tr[data-purpose=third_party_sharing]")).to_contain_text(re.compile("已同意|已撤回"))
    _shoot(page, "member-zh")

    page.goto(f"{demo_server.base}/console/finance/mcc")
    expect(page.locator("table.excluded")).to_contain_text("公共事业（水电煤气）")
    page.fill("form.mcc-rule input[name=mccs]", "5691")
    page.fill("form.mcc-rule input[name=name]", "服装 1.5 倍积分")
    page.fill("form.mcc-rule input[name=multiplier]", "1.5")
    page.click("form.mcc-rule button")
    expect(page.locator("table.rules")).to_contain_text("服装 1.5 倍积分")
    expect(page.locator("table.rules")).to_contain_text("×1.5")
    _shoot(page, "mcc-zh")

    page.goto(f"{demo_server.base}/console/finance/assets")
    expect(page.locator("table.tiers")).to_contain_text("钻石卡")
    expect(page.locator("table.feeds")).to_contain_text("core-banking-")
    _shoot(page, "assets-zh")

    page.goto(f"{demo_server.base}/console/finance/statements?q={member_no}")
    expect(page.locator(".statement .closing")).to_be_visible()
    expect(page.locator("table.runs")).to_contain_text("demo")
    _shoot(page, "statement-zh")

    page.select_option("select[name=language]", "en")
    expect(page.locator("h1")).to_contain_text("Points statements")
    page.goto(f"{demo_server.base}/console/finance/statements?q={member_no}")
    expect(page.locator(".statement")).to_contain_text("Closing balance")
    _shoot(page, "statement-en")
    for path, heading, name in (
        (f"?q={member_no}", "Card members", "member-en"),
        ("/mcc", "Points by MCC", "mcc-en"),
        ("/assets", "Assets and tiers", "assets-en"),
    ):
        page.goto(f"{demo_server.base}/console/finance{path}")
        expect(page.locator("h1")).to_contain_text(heading)
        _shoot(page, name)
    expect(page.locator("table.tiers")).to_contain_text("Average daily balance")
    page.select_option("select[name=language]", "zh_CN")  # the demo server is shared: leave it in Chinese
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
