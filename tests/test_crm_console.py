"""The console's segment pages on SQLite and PostgreSQL: the rule builder with its live count
(amounts typed in yuan), errors beside the row at fault in Chinese, a static segment's upload, the
member list, removal refused while something uses a segment, and the same pages in English."""

from __future__ import annotations

import datetime as dt

from membership.crm import segments, tags
from membership.crm.rules import parse_definition
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from tests.console_client import csrf_of, text_of

SPEND = {
    "name": "高消费",
    "code": "big",
    "new": "1",
    "kind": "rules",
    "match": "all",
    "field_0": "spend",
    "op_0": "gte",
    "value_0": "150.50",
    "days_0": "30",
}


async def _buyers(shop) -> tuple:
    big = await members.enrol(shop.program.id, {"name": "李娜", "phone": "13900000301"}, store_id=shop.store_id)
    small = await members.enrol(shop.program.id, {"name": "王强", "phone": "13900000302"}, store_id=shop.store_id)
    for member, amount in ((big, 20_000), (small, 5_000)):
        await sales.record_purchase(
            shop.program.id,
            shop.store_id,
            member.id,
            [LineInput("6901", 1, amount, "牛奶")],
            occurred_at=dt.datetime.now(dt.UTC),
        )
    return big, small


async def test_the_rule_builder_counts_live_saves_in_fen_and_shows_errors_beside_their_row(any_console):
    shop = any_console.shop
    big, _ = await _buyers(shop)
    async with any_console.logged_in("manager") as client:
        listed = await client.get("/console/segments")
        assert listed.status_code == 200 and "人群" in text_of(listed.text) and "还没有人群" in text_of(listed.text)
        form = await client.get("/console/segments/new")
        assert form.status_code == 200 and 'id="live-count"' in form.text

        live = await client.post("/console/segments/count", data={**SPEND, "_csrf_token": csrf_of(client)})
        assert live.status_code == 200 and 'data-count="1"' in live.text and "1 位会员" in text_of(live.text)
        row = await client.get("/console/segments/row", params={"n": 2, "field_2": "tier"})
        assert 'name="op_2"' in row.text and 'name="choices_2"' not in row.text  # the shop has no tiers

        bad = {**SPEND, "field_1": "visits", "op_1": "gte", "value_1": "两次", "days_1": "30"}
        refused = await client.post("/console/segments", data={**bad, "_csrf_token": csrf_of(client)})
        assert refused.status_code == 422
        assert 'name="value_1" value="两次"' in refused.text and "整数" in refused.text
        live = await client.post("/console/segments/count", data={**bad, "_csrf_token": csrf_of(client)})
        assert "data-count" not in live.text and "2." in text_of(live.text)

        saved = await client.post("/console/segments", data={**SPEND, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/segments?done=saved"
        stored = parse_definition((await segments.get_segment(shop.program.id, "big")).definition)
        assert stored.conditions[0].value == (15_050, None) and stored.conditions[0].days == 30

        page = await client.get(saved.headers["location"])
        assert "人群已保存" in text_of(page.text) and "消费金额（近 30 天） ≥ ¥150.50" in text_of(page.text)
        count = await client.get("/console/segments/big/count")
        assert 'data-count="1"' in count.text
        edit = await client.get("/console/segments/big")
        assert 'name="value_0" value="150.50"' in edit.text and big.member_no in edit.text

        await tags.add_tag_rule(shop.program.id, "高价值", "big", "test")
        in_use = await client.post(
            "/console/segments/big/delete", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert in_use.status_code == 409 and "tag:高价值" in in_use.text
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/segments")).status_code == 403


async def test_a_static_segment_takes_an_upload_and_the_pages_read_in_english(any_console):
    shop = any_console.shop
    big, _ = await _buyers(shop)
    async with any_console.logged_in("owner") as client:
        made = await client.post(
            "/console/segments",
            data={"name": "VIP 名单", "code": "vip", "new": "1", "kind": "static", "_csrf_token": csrf_of(client)},
        )
        assert made.status_code == 303
        edit = await client.get("/console/segments/vip")
        assert "上传会员名单" in text_of(edit.text) and 'name="field_0"' not in edit.text
        lines = f"{big.member_no}\n13900000302\n没有这个人\n"
        uploaded = await client.post(
            "/console/segments/vip/members", data={"lines": lines, "_csrf_token": csrf_of(client)}
        )
        assert "该人群现有 2 位会员，本次新增 2 位" in text_of(uploaded.text)
        assert "第 3 行" in text_of(uploaded.text) and "不是会员号也不是手机号" in uploaded.text
        removed = await client.post(
            "/console/segments/vip/delete", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert removed.status_code == 303

        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        page = await client.get("/console/segments")
        assert "Segments" in text_of(page.text) and "Segment removed." in text_of(
            (await client.get("/console/segments?done=deleted")).text
        )
        form = await client.get("/console/segments/new")
        assert "Members now:" in text_of(form.text) and "Spend" in form.text
        live = await client.post(
            "/console/segments/count", data={**SPEND, "value_0": "10", "_csrf_token": csrf_of(client)}
        )
        assert "2 members" in text_of(live.text)
