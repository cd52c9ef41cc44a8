"""The ticket pages in a real headless Chromium against a real server: a clerk opens a ticket for a
member found by phone, sees the member masked with their purchases, starts handling it and comments.
Screenshots go to ``test-output/screenshots`` (ticket.png, tickets.png)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.test_console_browser import SHOTS, log_in, page

__all__ = ["page"]  # the fixture, used by name


def test_a_clerk_opens_a_ticket_and_starts_handling_it(page, console_server):
    url = console_server.url
    log_in(page, url, "clerk")
    page.goto(f"{url}/console/tickets")
    page.click("text=新建工单")
    page.fill("input[name=member]", "13812345678")
    page.select_option("select[name=kind]", "complaint")
    page.select_option("select[name=priority]", "high")
    page.fill("input[name=subject]", "会员卡积分没到账")
    page.fill("textarea[name=description]", "昨天在一号店消费，积分没有到账。")
    page.click("button.primary")
    expect(page).to_have_url(re.compile(r"/console/tickets/[0-9a-f-]{36}\?done=opened$"))
    expect(page.locator("h1")).to_contain_text("会员卡积分没到账")
    expect(page.locator(".status")).to_have_text("待处理")
    expect(page.locator("#personal .phone")).to_have_text("138****5678")
    expect(page.locator(".member-history")).to_contain_text("最近消费")
    page.click("button[name=action][value=start]")
    expect(page.locator(".status")).to_have_text("处理中")
    page.fill("textarea[name=body]", "已致电会员，今天补发积分。")
    page.click("form.comment button")
    expect(page.locator(".history")).to_contain_text("已致电会员，今天补发积分。")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "ticket.png", full_page=True)
    page.goto(f"{url}/console/tickets?status=in_progress")
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "tickets.png", full_page=True)
