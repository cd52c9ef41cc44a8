"""The segment builder in a real headless Chromium against a real server: choosing a field swaps
its row's inputs, the live count follows what is typed, the segment is saved and listed with its
size. Screenshots go to ``test-output/screenshots`` (segments-builder.png, segments.png)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.test_console_browser import SHOTS, log_in, page

__all__ = ["page"]  # the fixture, used by name


def test_a_manager_builds_a_segment_and_watches_its_count(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    page.goto(f"{url}/console/segments/new")
    page.fill("input[name=name]", "近一月消费满百")
    page.fill("input[name=code]", "month-100")
    page.select_option("select[name=field_0]", "spend")
    expect(page.locator("input[name=days_0]")).to_be_visible()  # the row was swapped for the field
    page.fill("input[name=value_0]", "0")
    page.fill("input[name=days_0]", "30")
    page.locator("input[name=days_0]").press("Tab")
    expect(page.locator("#live-count .live-count")).to_contain_text("位会员")
    page.select_option("select[name=field_1]", "gender")
    page.check("input[name=choices_1][value=male]")
    expect(page.locator("#live-count .live-count")).to_have_attribute("data-count", "0")  # 张伟 gave no gender
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "segments-builder.png", full_page=True)
    page.uncheck("input[name=choices_1][value=male]")
    page.check("input[name=choices_1][value=unknown]")
    page.click("button.primary")
    expect(page).to_have_url(f"{url}/console/segments?done=saved")
    expect(page.locator("tr[data-segment=month-100] td.num")).to_have_text("1 位会员")
    page.screenshot(path=SHOTS / "segments.png", full_page=True)
