"""The member page's own forms, on SQLite and PostgreSQL: the profile, tags and notes edited
(audited; notes sealed like the phone), the spend summary (累计消费, 客单价, 最近到店, visits), a
sale of the history refunded with a reason once confirmed, a card reported lost only once
confirmed."""

from __future__ import annotations

import datetime as dt

from membership.db import fetch, fetch_one
from membership.db.sql import json_column
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.members.notes import member_notes
from membership.members.rights import erase_member
from membership.sales import service as sales
from tests.console_client import csrf_of, text_of
from tests.helpers import ledger_violations


async def _audit(action: str) -> list[dict]:
    return await fetch("SELECT actor, object_id, details FROM audit_log WHERE action = {} ORDER BY occurred_at", action)


async def test_the_profile_tags_and_notes_are_edited_and_audited(any_console):
    shop = any_console.shop
    page = f"/console/members/{shop.member_id}"
    async with any_console.logged_in("clerk") as client:
        profile = {"name": "张伟伟", "gender": "male", "birthday": "1990-05-17", "birthday_calendar": "lunar"}
        saved = await client.post(
            f"{page}/profile", data={**profile, "email": "zw@example.com", "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303 and "资料已保存" in (await client.get(saved.headers["location"])).text
        member = await members.get_member(shop.member_id, reveal=True)
        assert (member.name, member.gender, member.birthday_calendar) == ("张伟伟", "male", "lunar")
        assert member.phone == "+8613812345678" and member.email == "zw@example.com"  # an empty phone keeps it
        wrong = await client.post(f"{page}/profile", data={**profile, "phone": "12345", "_csrf_token": csrf_of(client)})
        assert wrong.status_code == 422 and 'value="12345"' in wrong.text and "“12345” 不是有效的手机号码" in wrong.text
        bad_day = await client.post(
            f"{page}/profile", data={**profile, "birthday": "1990-13-01", "_csrf_token": csrf_of(client)}
        )
        assert bad_day.status_code == 422 and "1990-05-17" in text_of(bad_day.text)

        tags = await client.post(f"{page}/tags", data={"tags": "VIP、 爱喝咖啡,VIP", "_csrf_token": csrf_of(client)})
        assert tags.status_code == 303
        assert (await members.get_member(shop.member_id)).tags == ["VIP", "爱喝咖啡"]

        noted = await client.post(
            f"{page}/notes", data={"text": "对花生过敏，结账时提醒", "_csrf_token": csrf_of(client)}
        )
        assert noted.status_code == 303
        shown = text_of((await client.get(page)).text)
        assert "对花生过敏，结账时提醒 clerk ·" in shown and "VIP 爱喝咖啡" in shown
        empty = await client.post(f"{page}/notes", data={"text": "  ", "_csrf_token": csrf_of(client)})
        assert empty.status_code == 422 and "1 到 500 个字符" in empty.text and "备注无效" in empty.text
        [row] = await fetch("SELECT id, body_enc FROM member_note")
        assert "花生" not in row["body_enc"]  # sealed under the member's data key
        one_click = await client.post(f"{page}/notes/{row['id']}/remove", data={"_csrf_token": csrf_of(client)})
        assert one_click.status_code == 422 and len(await member_notes(shop.member_id)) == 1
    updates = await _audit("member.update")
    assert [sorted(json_column(u["details"])["fields"]) for u in updates] == [
        ["birthday", "birthday_calendar", "email", "gender", "name"],
        ["tags"],
    ]
    assert [a["actor"] for a in await _audit("member.note.add")] == ["staff:clerk"]
    await fetch("UPDATE member SET updated_at = updated_at")  # nothing else wrote
    await erase_member(shop.member_id, "test")
    assert await member_notes(shop.member_id) == []  # its data key is gone with the erasure


async def test_the_spend_summary_counts_net_spend_visits_the_average_and_the_last_visit(any_console):
    shop = any_console.shop
    program = shop.program
    ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    buy = sales.record_purchase
    await buy(program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 30_000)], now=ago)
    await buy(program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)])
    gone = await buy(program.id, shop.store_id, shop.member_id, [LineInput("B", 1, 5_000)])
    await sales.refund(gone.id, reason="退货")
    async with any_console.logged_in("analyst") as client:
        text = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
    assert "累计消费 ¥400.00 到店次数 2 客单价 ¥200.00 最近到店" in text and "近一年消费 ¥100.00" in text


async def test_a_sale_is_refunded_from_the_history_with_a_reason_once_confirmed(any_console):
    shop = any_console.shop
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 5_000)])
    path = f"/console/members/{shop.member_id}/sales/{sale.id}/refund"
    async with any_console.logged_in("clerk") as clerk:
        page = (await clerk.get(f"/console/members/{shop.member_id}")).text
        assert f"/sales/{sale.id}/refund" not in page  # a clerk refunds at the counter, within their limits
        assert (
            await clerk.post(path, data={"reason": "x", "confirm": "yes", "_csrf_token": csrf_of(clerk)})
        ).status_code == 403
    async with any_console.logged_in("manager") as client:
        page = (await client.get(f"/console/members/{shop.member_id}")).text
        assert f'action="{path}"' in page
        unconfirmed = await client.post(path, data={"reason": "质量问题", "key": "k1", "_csrf_token": csrf_of(client)})
        assert unconfirmed.status_code == 422 and "请先确认" in unconfirmed.text
        no_reason = await client.post(path, data={"confirm": "yes", "key": "k1", "_csrf_token": csrf_of(client)})
        assert no_reason.status_code == 422 and "请填写退货原因" in no_reason.text
        form = {"reason": "质量问题", "confirm": "yes", "key": "k1", "_csrf_token": csrf_of(client)}
        refunded = await client.post(path, data=form)
        assert refunded.status_code == 303
        assert "已退款 ¥100.00" in text_of((await client.get(refunded.headers["location"])).text)
        again = await client.post(path, data=form)  # a double click: the same refund, not a second one
        assert again.status_code == 303
        later = await client.post(path, data={**form, "key": "k2"})
        assert later.status_code == 422 and "已全部退款" in text_of(later.text)
        other = await members.enrol(shop.program.id, {"name": "李娜", "phone": "13900000001"})
        stranger = await client.post(f"/console/members/{other.id}/sales/{sale.id}/refund", data={**form, "key": "k3"})
        assert stranger.status_code == 422
    row = await fetch_one("SELECT status, refunded_amount FROM sale WHERE id = {}", sale.id)
    assert (row["status"], row["refunded_amount"]) == ("refunded", 10_000)
    assert (await ledger.balances(shop.member_id)).points == 0
    [entry] = await _audit("sale.refund")
    assert entry["actor"] == "staff:manager" and json_column(entry["details"])["reason"] == "质量问题"
    assert await ledger_violations() == []


async def test_a_card_is_reported_lost_only_once_confirmed(any_console):
    shop = any_console.shop
    card = await members.issue_credential(shop.member_id, "card_uid", "0F00A1B2C3")
    async with any_console.logged_in("clerk") as client:
        page = (await client.get(f"/console/members/{shop.member_id}")).text
        assert "挂失这张卡？" in page and 'name="confirm" value="yes"' in page
        one_click = await client.post(
            f"/console/credentials/{card['id']}/block", data={"lost": "1", "_csrf_token": csrf_of(client)}
        )
        assert one_click.status_code == 422 and "请先确认" in one_click.text
        assert (await members.list_credentials(shop.member_id))[0]["state"] == "active"
        lost = await client.post(
            f"/console/credentials/{card['id']}/block",
            data={"lost": "1", "reason": "顾客挂失", "confirm": "yes", "_csrf_token": csrf_of(client)},
        )
        assert "已挂失" in text_of(lost.text)
    assert (await members.list_credentials(shop.member_id))[0]["state"] == "lost"
