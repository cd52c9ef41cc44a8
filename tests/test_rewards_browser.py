"""The points mall page (积分商城) in a real headless Chromium against a real server: choosing the
kind swaps the reward's own fields, a discount typed as 折 is saved and listed as such, a
redemption the member's points do not cover is refused on the page. Screenshots go to
``test-output/screenshots`` (points-mall-form.png, points-mall.png, points-mall-390.png)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.test_console_browser import SHOTS, log_in, page

__all__ = ["page"]  # the fixture, used by name


def test_a_manager_puts_a_discount_in_the_points_mall_and_a_redemption_is_refused(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    page.goto(f"{url}/console/loyalty/rewards")
    expect(page.locator("input[name=params-sku]")).to_be_visible()  # a gift by default
    page.select_option("select[name=kind]", "discount")
    expect(page.locator("input[name=params-percent_off]")).to_be_visible()
    page.fill("input[name=code]", "off20")
    page.fill("input[name=name]", "500积分享8折")
    page.fill("input[name=params-percent_off]", "8")
    page.fill("input[name=params-max_off]", "50")
    page.fill("input[name=points]", "500")
    page.fill("input[name=stock]", "100")
    page.fill("input[name=member_limit]", "1")
    page.select_option("select[name=limit_period]", "month")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "points-mall-form.png", full_page=True)
    page.click("#reward-form button.primary")
    expect(page).to_have_url(f"{url}/console/loyalty/rewards?done=added")
    row = page.locator("tr[data-reward=off20]")
    expect(row).to_contain_text("8折，最多减 50.00 元")
    expect(row).to_contain_text("每月 1 次")
    page.fill("#redeem input[name=member]", "13812345678")
    page.click("#redeem button.primary")
    expect(page.locator("p.error")).to_contain_text("积分不足：需要 500，可用 0")
    page.screenshot(path=SHOTS / "points-mall.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/console/loyalty/rewards")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=SHOTS / "points-mall-390.png", full_page=True)
