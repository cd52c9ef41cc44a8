"""The console's tags page and a member's messages on SQLite and PostgreSQL: tags in use with
their counts, tag rules added (a wrong tag said beside it) and removed in two steps, audited; the
member page's messages with their delivery per channel, paged; clerks kept out of the tags page."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from membership.crm import segments, tags
from membership.crm.reports import record_program_sizes
from membership.db import fetch
from membership.jobs.runner import run_job
from membership.members import service as members
from membership.notifications import config as channel_config
from membership.notifications import delivery, inbox
from membership.notifications import templates as message_templates
from tests.console_client import csrf_of, text_of

FEMALE = {"match": "all", "conditions": [{"field": "gender", "op": "in", "value": ["female"]}]}


async def test_tags_in_use_and_tag_rules_are_kept_from_the_tags_page(any_console):
    shop = any_console.shop
    program = shop.program.id
    other = await members.enrol(program, {"name": "李娜", "phone": "13900000701", "gender": "female"})
    await tags.change_member_tags(shop.member_id, ["常客", "咖啡"], [], "test")
    await tags.change_member_tags(other.id, ["常客"], [], "test")
    await segments.create_segment(program, "women", "女性会员", "rules", FEMALE, "test")
    async with any_console.logged_in("manager") as client:
        page = await client.get("/console/tags")
        assert page.status_code == 200
        assert 'data-tag="常客"' in page.text and "常客 2" in text_of(page.text) and "咖啡 1" in text_of(page.text)

        too_long = {"tag": "长" * 51, "segment": "women", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/tags/rules", data=too_long)
        assert refused.status_code == 422 and 'data-error="tag"' in refused.text and "标签" in text_of(refused.text)
        added = await client.post(
            "/console/tags/rules", data={"tag": "女士", "segment": "women", "_csrf_token": csrf_of(client)}
        )
        assert added.status_code == 303 and added.headers["location"] == "/console/tags?done=added"
        again = await client.post(
            "/console/tags/rules", data={"tag": "女士", "segment": "women", "_csrf_token": csrf_of(client)}
        )
        assert again.status_code == 422 and 'name="tag" value="女士"' in again.text
        listed = await client.get(added.headers["location"])
        assert "自动标签规则已添加" in text_of(listed.text) and 'data-rule="女士"' in listed.text
        assert "女性会员" in text_of(listed.text)

        unconfirmed = await client.post("/console/tags/rules/女士/delete", data={"_csrf_token": csrf_of(client)})
        assert unconfirmed.status_code == 422 and len((await tags.list_tag_rules(program))[0]) == 1
        removed = await client.post(
            "/console/tags/rules/女士/delete", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert removed.status_code == 303 and (await tags.list_tag_rules(program))[0] == []
        actions = {r["action"] for r in await fetch("SELECT action FROM audit_log WHERE object_type = 'tag_rule'")}
        assert actions == {"tag_rule.add", "tag_rule.remove"}

        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        assert "Tag rules" in text_of((await client.get("/console/tags")).text)
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/tags")).status_code == 403
        denied = await client.post(
            "/console/tags/rules", data={"tag": "x", "segment": "women", "_csrf_token": csrf_of(client)}
        )
        assert denied.status_code == 403


async def test_the_member_page_lists_the_members_messages_with_their_delivery(any_console):
    shop = any_console.shop
    program = shop.program.id
    await channel_config.configure_channel(program, "inbox", {}, True, "test")
    hello = message_templates.TemplateTerms(
        name="问候", purpose="service", subject_zh="您好", body_zh="您好，{{ member.name }}"
    )
    offer = message_templates.TemplateTerms(name="优惠", purpose="marketing", body_zh="新品八折")
    await message_templates.save_template(program, "hello", hello, "test", new=True)
    await message_templates.save_template(program, "offer", offer, "test", new=True)
    await delivery.enqueue(program, shop.member_id, "hello", ["inbox"], {}, "t-hello", cause="test")
    await delivery.enqueue(program, shop.member_id, "offer", ["inbox"], {}, "t-offer", cause="test")
    await run_job("deliver-messages")
    kept = await fetch("SELECT id FROM inbox_message WHERE member_id = {}", shop.member_id)
    assert len(kept) == 1 and await inbox.mark_read(program, shop.member_id, uuid.UUID(str(kept[0]["id"])))
    for n in range(11):  # two pages
        await delivery.enqueue(program, shop.member_id, "hello", ["inbox"], {}, f"t-more-{n}", cause="test")
    async with any_console.logged_in("clerk") as client:
        member = await client.get(f"/console/members/{shop.member_id}")
        assert f'hx-get="/console/members/{shop.member_id}/messages"' in member.text
        first = await client.get(f"/console/members/{shop.member_id}/messages")
        assert first.status_code == 200 and "1 / 2" in text_of(first.text)
        last = await client.get(f"/console/members/{shop.member_id}/messages?page=2")
        shown = text_of(last.text)
        assert "站内信" in shown and "已送达服务商" in shown and "未发送：会员未同意接收" in shown
        assert 'data-state="sent"' in last.text and 'data-state="suppressed"' in last.text
        assert "会员已阅读" in shown and shown.count("会员已阅读") == 1
    async with any_console.logged_in("owner") as client:
        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        english = await client.get(f"/console/members/{shop.member_id}/messages?page=2")
        assert "Not sent: no consent" in text_of(english.text).replace("：", ": ")


async def test_the_segments_page_charts_the_daily_segment_sizes(any_console):
    shop = any_console.shop
    program = shop.program.id
    async with any_console.logged_in("manager") as client:
        assert 'id="chart-segment-sizes"' not in (await client.get("/console/segments")).text  # no snapshot yet
        await members.enrol(program, {"name": "李娜", "phone": "13900000702", "gender": "female"})
        await segments.create_segment(program, "women", "女性会员", "rules", FEMALE, "test")
        await record_program_sizes(shop.program, dt.datetime.now(dt.UTC))
        page = await client.get("/console/segments")
        assert 'id="chart-segment-sizes"' in page.text and "segment-sizes.js" in page.text
        chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page.text, re.S)[1])
        today = dt.datetime.now(shop.program.zone).date().isoformat()
        assert chart == {"days": [today], "series": [{"name": "女性会员", "data": [1]}]}
