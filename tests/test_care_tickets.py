"""Service tickets on SQLite and PostgreSQL: opened through the API and the console, moved
open → in progress → resolved → closed and reopened, commented; a ticket left unanswered past its
SLA is escalated exactly once by ``escalate-tickets`` run as of a later time, with a notice for the
assignee's manager and the owner; closing a ticket invites the member to the ticket survey; the
ticket page shows the member's history with the phone masked by role."""

from __future__ import annotations

import datetime as dt
import uuid

from membership.care import surveys, tickets
from membership.care.settings import care_settings
from membership.coupons import service as coupons
from membership.db import fetch, fetch_one
from membership.jobs.runner import run_job
from membership.notifications.config import configure_channel
from membership.org.service import get_program
from membership.testing import make_sale
from tests.console_client import csrf_of, text_of


async def _staff_id(username: str) -> str:
    row = await fetch_one("SELECT id FROM staff WHERE username = {}", username)
    return str(row["id"])


async def test_a_ticket_moves_through_its_life_and_keeps_its_history(any_api):
    api = any_api
    program = f"/programs/{api.shop.program.id}"
    body = {"member_id": str(api.shop.member_id), "kind": "complaint", "subject": "咖啡送错了", "priority": "high"}
    opened = await api.call("POST", f"{program}/tickets", "pos", {**body, "description": "点的拿铁，拿到的是美式。"})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert (ticket["number"], ticket["status"], ticket["member_phone"]) == (1, "open", "138****5678")
    created = dt.datetime.fromisoformat(ticket["created_at"])
    assert dt.datetime.fromisoformat(ticket["respond_by"]) - created == dt.timedelta(hours=4)  # complaint, high
    second = await api.call("POST", f"{program}/tickets", "pos", {**body, "kind": "enquiry", "subject": "积分怎么用"})
    assert second.json()["number"] == 2

    path = f"/tickets/{ticket['id']}"
    refused = await api.call("POST", f"{path}/transitions", "pos", {"action": "reopen"})
    assert refused.status_code == 409 and refused.json()["code"] == "ticket_transition_refused"
    assert "open" in refused.json()["detail"]
    for action, status in (("start", "in_progress"), ("resolve", "resolved"), ("close", "closed"), ("reopen", "open")):
        moved = await api.call("POST", f"{path}/transitions", "pos", {"action": action, "note": f"{action}!"})
        assert moved.status_code == 200 and moved.json()["status"] == status, moved.text
    commented = await api.call("POST", f"{path}/comments", "pos", {"body": "已电话联系会员"})
    assert commented.status_code == 201
    changed = await api.call("PATCH", path, "pos", {"priority": "urgent", "subject": "咖啡送错（已致歉）"})
    assert changed.json()["priority"] == "urgent" and changed.json()["subject"] == "咖啡送错（已致歉）"
    assert dt.datetime.fromisoformat(changed.json()["respond_by"]) - created == dt.timedelta(hours=2)
    shown = (await api.call("GET", path, "read")).json()
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in shown["history"]] == [
        ("created", "", "open"),
        ("status", "open", "in_progress"),
        ("status", "in_progress", "resolved"),
        ("status", "resolved", "closed"),
        ("status", "closed", "open"),
        ("comment", "", ""),
        ("changed", "", ""),
    ]
    assert shown["responded_at"] is not None and shown["closed_at"] is None
    listed = await api.call("GET", f"{program}/tickets", "read", params={"kind": "enquiry", "page_size": 1})
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["subject"] == "积分怎么用"
    bad = await api.call("POST", f"{program}/tickets", "pos", {**body, "kind": "praise"})
    assert bad.status_code == 422
    audit = await fetch("SELECT action FROM audit_log WHERE object_id = {} ORDER BY occurred_at, id", ticket["id"])
    assert [a["action"] for a in audit][:3] == ["ticket.open", "ticket.start", "ticket.resolve"]


async def test_a_ticket_past_its_sla_is_escalated_once_and_the_manager_and_owner_are_told(any_console):
    console = any_console
    shop = console.shop
    clerk = uuid.UUID(await _staff_id("clerk"))
    opened_at = dt.datetime(2027, 1, 4, 2, 0, tzinfo=dt.UTC)
    late = await tickets.open_ticket(
        shop.program.id,
        shop.member_id,
        "complaint",
        "会员卡无法使用",
        priority="urgent",
        assignee_id=clerk,
        actor="staff:clerk",
        now=opened_at,
    )
    answered = await tickets.open_ticket(
        shop.program.id, shop.member_id, "complaint", "发票未开", priority="urgent", actor="staff:clerk", now=opened_at
    )
    await tickets.comment(
        shop.program.id, answered["id"], "已补开", "staff:clerk", now=opened_at + dt.timedelta(hours=1)
    )

    early = await run_job("escalate-tickets", as_of=opened_at + dt.timedelta(hours=1, minutes=59))
    assert early.result.processed == 0
    run = await run_job("escalate-tickets", as_of=opened_at + dt.timedelta(hours=3))
    assert run.result.processed == 1  # the urgent complaint had 2 hours; the other one was answered
    again = await run_job("escalate-tickets", as_of=opened_at + dt.timedelta(hours=9))
    assert again.result.processed == 0
    row = await fetch_one("SELECT escalated_at FROM service_ticket WHERE id = {}", late["id"])
    assert row["escalated_at"] == opened_at + dt.timedelta(hours=3)
    told = await fetch(
        "SELECT s.username FROM staff_notice n JOIN staff s ON s.id = n.staff_id WHERE n.ticket_id = {}"
        " ORDER BY s.username",
        late["id"],
    )
    assert [t["username"] for t in told] == ["manager", "owner"]
    assert await fetch("SELECT id FROM audit_log WHERE action = 'ticket.escalate'") != []

    async with console.logged_in("manager") as client:
        page = await client.get("/console/tickets")
        assert page.status_code == 200
        assert "需要您处理" in page.text and "会员卡无法使用" in text_of(page.text) and "已升级" in page.text
        overdue = await client.get("/console/tickets", params={"overdue": "1"})
        assert "会员卡无法使用" in overdue.text and "发票未开" not in overdue.text
        await client.get(f"/console/tickets/{late['id']}")  # opening the ticket reads its notice
        assert "需要您处理" not in (await client.get("/console/tickets")).text
        hours = {
            f"{k}-{p}": "24"
            for k in ("complaint", "enquiry", "suggestion")
            for p in ("urgent", "high", "normal", "low")
        }
        typo = await client.post(
            "/console/tickets/settings", data={**hours, "complaint-urgent": "两小时", "_csrf_token": csrf_of(client)}
        )
        assert typo.status_code == 422 and "投诉（紧急）：请填写 1 到 2160 之间的整数小时" in typo.text
        saved = await client.post(
            "/console/tickets/settings", data={**hours, "complaint-urgent": "1", "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303
    program = await get_program(shop.program.id)
    assert (
        care_settings(program).hours("complaint", "urgent") == 1
        and care_settings(program).hours("enquiry", "low") == 24
    )


async def test_the_ticket_page_shows_the_members_history_masked_by_role_and_closing_invites_a_survey(any_console):
    console = any_console
    shop = console.shop
    program = shop.program.id
    await make_sale(program, shop.store_id, shop.member_id, 12_800)
    await coupons.create_template(
        program, {"code": "sorry", "name": "致歉券", "kind": "amount_off", "amount_off": 1000, "valid_days": 30}
    )
    await coupons.issue(program, "sorry", [shop.member_id])
    earlier = await tickets.open_ticket(program, shop.member_id, "suggestion", "希望增加燕麦奶", actor="test")
    await configure_channel(program, "inbox", {}, True, "test")
    ticket_survey = surveys.SurveyTerms(
        name="工单回访", kind="csat", send_after="ticket", question_zh="您对处理结果满意吗？"
    )
    await surveys.save_survey(program, "after-ticket", ticket_survey, "test", new=True)

    async with console.logged_in("clerk") as client:
        form = await client.get("/console/tickets/new")
        assert form.status_code == 200 and "会员号或手机号" in form.text
        empty = await client.post(
            "/console/tickets", data={"member": "", "subject": "x", "_csrf_token": csrf_of(client)}
        )
        assert empty.status_code == 422 and "请填写会员号或手机号" in empty.text
        made = await client.post(
            "/console/tickets",
            data={
                "member": "13812345678",
                "kind": "complaint",
                "priority": "normal",
                "subject": "结账时积分没到账",
                "description": "会员说昨天消费的积分没有到账",
                "store": str(shop.store_id),
                "assignee": await _staff_id("clerk"),
                "_csrf_token": csrf_of(client),
            },
        )
        assert made.status_code == 303, made.text
        where = made.headers["location"].split("?")[0]
        page = await client.get(where)
        text = text_of(page.text)
        assert page.status_code == 200 and "结账时积分没到账" in text
        assert "138****5678" in text and "+8613812345678" not in text
        assert "显示完整信息" not in page.text  # a clerk may not reveal
        assert "¥128.00" in text and "致歉券" in text and "希望增加燕麦奶" in text
        assert f"/console/tickets/{earlier['id']}" in page.text
        for action in ("start", "resolve", "close"):
            moved = await client.post(f"{where}/move", data={"action": action, "_csrf_token": csrf_of(client)})
            assert moved.status_code == 303
        wrong = await client.post(f"{where}/move", data={"action": "start", "_csrf_token": csrf_of(client)})
        assert wrong.status_code == 422 and "不能开始处理" in wrong.text
    ticket_id = where.rsplit("/", 1)[1]
    sends = await fetch("SELECT occasion FROM survey_send WHERE member_id = {}", shop.member_id)
    assert [s["occasion"] for s in sends] == [f"ticket:{ticket_id}"]

    async with console.logged_in("manager") as client:
        page = await client.get(where)
        assert "138****5678" in page.text and "显示完整信息" in page.text
    async with console.logged_in("analyst") as client:
        assert (await client.get(where)).status_code == 403


async def test_what_an_erased_member_wrote_is_forgotten_and_the_figures_stay(any_db):
    from membership.members.rights import erase_member
    from tests.helpers import make_shop

    shop = await make_shop()
    program = shop.program.id
    await configure_channel(program, "inbox", {}, True, "test")
    terms = surveys.SurveyTerms(name="回访", kind="csat", send_after="ticket", question_zh="满意吗？")
    await surveys.save_survey(program, "after-ticket", terms, "test", new=True)
    ticket = await tickets.open_ticket(program, shop.member_id, "complaint", "张伟说卡丢了", "电话 13812345678")
    await tickets.comment(program, ticket["id"], "已联系张伟", "staff:manager")
    await tickets.move_ticket(program, ticket["id"], "close", "staff:manager", "张伟满意")
    send = await fetch_one("SELECT id FROM survey_send WHERE member_id = {}", shop.member_id)
    assert await surveys.answer(surveys.answer_token(uuid.UUID(str(send["id"]))), 4, "我是张伟") == "recorded"
    await erase_member(shop.member_id, actor="test", reason="会员申请")

    run = await run_job("forget-erased-feedback")
    assert run.result.processed == 5  # the comment, the ticket, and its three history texts
    assert (await run_job("forget-erased-feedback")).result.processed == 0
    row = await fetch_one("SELECT subject, description, status FROM service_ticket WHERE id = {}", ticket["id"])
    assert (row["subject"], row["description"], row["status"]) == (tickets.ERASED, "", "closed")
    words = await fetch("SELECT body FROM ticket_entry WHERE ticket_id = {}", ticket["id"])
    assert all("张伟" not in w["body"] and "138" not in w["body"] for w in words)
    kept = (await surveys.figures(program, "", "after-ticket"))[0]
    assert (kept.answers, kept.score_sum) == (1, 4)
    assert (await fetch_one("SELECT comment FROM survey_send WHERE id = {}", send["id"]))["comment"] == ""
