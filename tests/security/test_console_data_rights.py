"""The console's personal-data requests: an owner downloads a member's copy and erases a member
after typing their number; other roles cannot; the member page shows the consent history."""

from __future__ import annotations

import json

from membership.db import fetch, fetch_one
from membership.members import rights
from tests.console_client import csrf_of, text_of


async def test_an_owner_downloads_a_copy_and_others_cannot(console):
    shop = console.shop
    await rights.set_consent(shop.member_id, "marketing", True, actor="test", source="enrol")
    await rights.set_consent(shop.member_id, "marketing", False, actor="test", source="sms")
    async with console.logged_in("manager") as client:
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
        refused = await client.post(f"/console/members/{shop.member_id}/export", data={"_csrf_token": csrf_of(client)})
    assert "授权记录" in page and "撤回" in page and "下载个人信息副本" not in page
    assert refused.status_code == 403
    async with console.logged_in("owner") as client:
        assert "下载个人信息副本" in (await client.get(f"/console/members/{shop.member_id}")).text
        answer = await client.post(f"/console/members/{shop.member_id}/export", data={"_csrf_token": csrf_of(client)})
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    copy = json.loads(answer.content)
    assert copy["profile"]["phone"] == "+8613812345678" and len(copy["consents"]) == 2
    audit = await fetch("SELECT actor FROM audit_log WHERE action = 'member.export'")
    assert [row["actor"] for row in audit] == ["staff:owner"]


async def test_an_owner_erases_a_member_after_typing_their_number(console):
    shop = console.shop
    row = await fetch_one("SELECT member_no FROM member WHERE id = {}", shop.member_id)
    path = f"/console/members/{shop.member_id}/erase"
    async with console.logged_in("clerk") as client:
        assert (await client.get(path)).status_code == 403
    async with console.logged_in("owner") as client:
        confirm = text_of((await client.get(path)).text)
        assert "无法恢复" in confirm and row["member_no"] in confirm
        wrong = await client.post(path, data={"_csrf_token": csrf_of(client), "reason": "本人申请", "member_no": "1"})
        assert wrong.status_code == 422 and "请输入该会员的会员号以确认" in wrong.text
        assert (await fetch_one("SELECT status FROM member WHERE id = {}", shop.member_id))["status"] == "active"
        done = await client.post(
            path, data={"_csrf_token": csrf_of(client), "reason": "本人申请", "member_no": row["member_no"]}
        )
        assert done.status_code == 303
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
    assert "已按本人要求注销" in page and "138****5678" not in page
    erased = await fetch_one("SELECT status, data_key FROM member WHERE id = {}", shop.member_id)
    assert erased == {"status": "erased", "data_key": None}
