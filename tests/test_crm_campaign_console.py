"""The console's campaign pages on SQLite and PostgreSQL: the list, a form that builds terms
without JSON (a local time for 定时发送, weekly at a time for a recurring one, an event with its
days), errors beside their field in Chinese, run now confirmed in two steps, the results against
the control group, the pages in English, and clerks kept out."""

from __future__ import annotations

import datetime as dt

from membership.coupons import service as coupons
from membership.crm import campaigns
from membership.db import fetch
from membership.notifications import config as channel_config
from membership.notifications import templates as message_templates
from tests.console_client import csrf_of, text_of

ONCE = {
    "new": "1",
    "code": "spring",
    "name": "春季回馈",
    "segment": "",
    "kind": "once",
    "template": "hello",
    "channels": "inbox",
    "coupon": "ten",
    "points": "50",
    "control_pct": "0",
    "conversion_days": "7",
    "active": "1",
}


async def _setup(shop) -> None:
    program = shop.program.id
    await channel_config.configure_channel(program, "inbox", {}, True, "test")
    terms = message_templates.TemplateTerms(name="问候", purpose="service", body_zh="{{ member.name }}，春天好！")
    await message_templates.save_template(program, "hello", terms, "test", new=True)
    await coupons.create_template(
        program, {"code": "ten", "name": "减10元", "kind": "amount_off", "amount_off": 1000, "valid_days": 30}
    )


async def test_a_manager_makes_a_scheduled_and_a_weekly_campaign_runs_one_and_reads_its_results(any_console):
    shop = any_console.shop
    await _setup(shop)
    zone = shop.program.zone
    earlier = (dt.datetime.now(zone) - dt.timedelta(hours=1)).replace(second=0, microsecond=0, tzinfo=None)
    async with any_console.logged_in("manager") as client:
        listed = await client.get("/console/campaigns")
        assert listed.status_code == 200 and "还没有营销活动" in text_of(listed.text)
        form = await client.get("/console/campaigns/new")
        assert form.status_code == 200 and 'type="datetime-local"' in form.text and "减10元" in form.text

        at = earlier.strftime("%Y-%m-%dT%H:%M")
        saved = await client.post("/console/campaigns", data={**ONCE, "at": at, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303, text_of(saved.text)
        assert saved.headers["location"] == "/console/campaigns?done=saved"
        terms = campaigns.terms_of(await campaigns.campaign_row(shop.program.id, "spring"))
        assert terms.when.kind == "once" and terms.when.at == earlier.replace(tzinfo=zone)
        assert (terms.points, terms.coupon, terms.channels, terms.conversion_days) == (50, "ten", ["inbox"], 7)
        bad_link = {**ONCE, "code": "bad", "at": at, "link": "http://shop.example", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/campaigns", data=bad_link)
        assert (
            refused.status_code == 422 and 'data-error="link"' in refused.text and "活动链接" in text_of(refused.text)
        )
        linked = {**ONCE, "code": "linked", "at": at, "link": "https://shop.example/spring"}
        assert (
            await client.post("/console/campaigns", data={**linked, "_csrf_token": csrf_of(client)})
        ).status_code == 303
        kept = {**linked, "new": "0", "name": "春季回馈（改）", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/campaigns", data=kept)).status_code == 303
        stored = campaigns.terms_of(await campaigns.campaign_row(shop.program.id, "linked"))
        assert stored.link == "https://shop.example/spring" and stored.name == "春季回馈（改）"

        weekly = {**ONCE, "code": "wed", "name": "周三会员日", "kind": "recurring", "repeat": "weekly"}
        weekly |= {"repeat_time": "09:30", "weekday": "3", "control_pct": "10"}
        saved = await client.post("/console/campaigns", data={**weekly, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303, text_of(saved.text)
        stored = campaigns.terms_of(await campaigns.campaign_row(shop.program.id, "wed"))
        assert stored.when.cron == "30 9 * * 3" and stored.control_pct == 10
        edit = await client.get("/console/campaigns/wed")
        assert '<option value="weekly" selected>' in edit.text and 'name="repeat_time" value="09:30"' in edit.text

        bad = {**ONCE, "code": "bad", "at": at, "points": "五十", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/campaigns", data=bad)
        assert refused.status_code == 422 and 'data-error="points"' in refused.text
        assert "积分" in text_of(refused.text) and "整数" in text_of(refused.text)
        too_many = {**ONCE, "code": "bad", "at": at, "control_pct": "80", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/campaigns", data=too_many)
        assert refused.status_code == 422 and 'data-error="control_pct"' in refused.text
        assert "对照组比例" in text_of(refused.text) and 'name="name" value="春季回馈"' in refused.text
        nothing = {**ONCE, "code": "bad", "at": at, "template": "", "coupon": "", "points": ""}
        refused = await client.post("/console/campaigns", data={**nothing, "_csrf_token": csrf_of(client)})
        assert refused.status_code == 422 and "请至少选择发送消息、发券或送积分之一" in text_of(refused.text)
        assert await fetch("SELECT code FROM campaign WHERE code = 'bad'") == []

        unconfirmed = await client.post("/console/campaigns/spring/run", data={"_csrf_token": csrf_of(client)})
        assert unconfirmed.status_code == 422 and await fetch("SELECT * FROM campaign_member") == []
        ran = await client.post(
            "/console/campaigns/spring/run", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert ran.status_code == 303 and "targets=1" in ran.headers["location"]
        notice = await client.get(ran.headers["location"])
        assert "已触达 1 位会员" in text_of(notice.text) and 'data-campaign="spring"' in notice.text
        audit = await fetch("SELECT action FROM audit_log WHERE object_id = 'spring' ORDER BY occurred_at")
        assert [row["action"] for row in audit][:1] == ["campaign.save"]

        results = await client.get("/console/campaigns/spring/results")
        assert results.status_code == 200 and 'id="chart-campaign"' in results.text
        assert 'data-figure="sent">1<' in results.text and "目标组" in text_of(results.text)
        assert 'id="chart-data"' in results.text and "campaign-results.js" in results.text

        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        english = await client.get("/console/campaigns")
        assert "Campaigns" in text_of(english.text) and "Weekly" not in english.text
        assert "Control group" in text_of((await client.get("/console/campaigns/spring/results")).text)
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/campaigns")).status_code == 403
        refused = await client.post("/console/campaigns", data={**ONCE, "_csrf_token": csrf_of(client)})
        assert refused.status_code == 403
