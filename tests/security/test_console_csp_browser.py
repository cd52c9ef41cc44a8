"""The console under its Content-Security-Policy (issue 17) in a real headless Chromium: the
counter's reader stream, htmx, the inline language switch and the dashboard's ECharts all work,
and the browser reports no violation of the policy. (Sync Playwright: its own module, away from
the asyncio tests.)"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console_client import PASSWORD


def test_the_console_runs_under_its_csp_without_a_single_violation(chromium, console_server):
    url = console_server.url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    try:
        page.goto(f"{url}/console/login?next=/console/counter")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#reader-state")).to_have_text("在线")  # console.js and its EventSource
        page.fill("#identify-q", "13812345678")
        page.press("#identify-q", "Enter")  # htmx
        expect(page.locator("#member .member h2")).to_have_text("张伟")
        page.select_option("select[name=language]", "en")  # an inline onchange handler, allowed by hash
        expect(page.locator("nav")).to_contain_text("Counter")
        page.goto(f"{url}/console/dashboard")
        expect(page.locator("canvas").first).to_be_visible()  # ECharts drew
        page.select_option("select[name=language]", "zh_CN")
        expect(page.locator("nav")).to_contain_text("前台")
    finally:
        context.close()
    assert violations == []
