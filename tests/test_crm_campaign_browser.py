"""The campaign form in a real headless Chromium against a real server: choosing "repeatedly"
shows the weekly choices (CSS only, no script), a weekly campaign giving points is saved and
listed with its next run, and its results page draws its chart. Screenshots go to
``test-output/screenshots`` (campaign-form.png, campaigns.png, campaign-results.png,
message-template.png, channels.png)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.test_console_browser import SHOTS, log_in, page

__all__ = ["page"]  # the fixture, used by name


def test_a_manager_creates_a_weekly_campaign_and_sees_it_listed(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    page.goto(f"{url}/console/campaigns/new")
    expect(page.locator("input[name=at]")).to_be_visible()  # one-off first: its time is asked
    expect(page.locator("select[name=weekday]")).to_be_hidden()
    page.fill("input[name=name]", "周三会员日礼遇")
    page.fill("input[name=code]", "wednesday")
    page.check("input[name=kind][value=recurring]")
    expect(page.locator("select[name=weekday]")).to_be_visible()
    expect(page.locator("input[name=at]")).to_be_hidden()
    page.select_option("select[name=repeat]", "weekly")
    page.select_option("select[name=weekday]", "3")
    page.fill("input[name=repeat_time]", "09:30")
    page.fill("input[name=points]", "20")
    page.fill("input[name=control_pct]", "10")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "campaign-form.png", full_page=True)
    page.click("form.campaign-form button.primary")
    expect(page).to_have_url(f"{url}/console/campaigns?done=saved")
    row = page.locator("tr[data-campaign=wednesday]")
    expect(row).to_contain_text("周三会员日礼遇")
    expect(row).to_contain_text("周期发送")
    expect(row.locator("td").nth(3)).to_contain_text("09:30")  # next run: a Wednesday at 09:30
    page.screenshot(path=SHOTS / "campaigns.png", full_page=True)
    row.locator("a", has_text="效果").click()
    expect(page.locator("#chart-campaign canvas")).to_be_visible()  # drawn by the static script
    expect(page.locator("tr[data-group=target]")).to_contain_text("目标组")
    page.screenshot(path=SHOTS / "campaign-results.png", full_page=True)


def test_a_manager_writes_a_message_template_watching_its_preview(page, console_server):
    url = console_server.url
    log_in(page, url, "manager")
    page.goto(f"{url}/console/message-templates/new")
    page.fill("input[name=name]", "积分提醒")
    page.fill("input[name=code]", "points-reminder")
    page.fill("textarea[name=body_zh]", "{{ member.name }}，您有 {{ points }} 积分")
    expect(page.locator("#template-preview .preview-body")).to_have_text("王小明，您有 1200 积分")
    page.fill("textarea[name=body_zh]", "{{ member.name }}，您有 {{ balance }} 积分")
    expect(page.locator("#template-preview .error")).to_contain_text("缺少变量")
    page.fill("textarea[name=body_zh]", "{{ member.name }}，您有 {{ points }} 积分将于 {{ expires_on }} 到期")
    expect(page.locator("#template-preview .preview-body")).to_contain_text("2026-12-31 到期")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "message-template.png", full_page=True)
    page.click("form.template-form button.primary")
    expect(page).to_have_url(f"{url}/console/message-templates?done=saved")
    expect(page.locator("tr[data-template=points-reminder]")).to_contain_text("积分提醒")
    page.goto(f"{url}/console/channels")
    expect(page.locator("section[data-channel=email] input[name=s-host]")).to_be_visible()
    page.screenshot(path=SHOTS / "channels.png", full_page=True)
