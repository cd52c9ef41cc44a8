"""Delivering messages to members on SQLite and PostgreSQL, end to end through real protocol fakes
on 127.0.0.1 (aiosmtpd, a webhook receiver that checks signatures): the outbox written with the
cause (a rollback sends nothing, a repeat sends once), retries with the same message id and then
the failure shown, quiet hours in the member's zone, consent per channel and purpose, one-step
opt-out by e-mail and by SMS reply, frequency caps, channel rates, templates in zh/en with a
sandbox and a preview. Deliveries run as the ``deliver-messages`` job does, as of chosen times
(``membership jobs run deliver-messages --at``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import urllib.parse
import uuid

import pytest

from membership.db import fetch, fetch_one, use_case
from membership.errors import ValidationError
from membership.jobs.runner import run_job
from membership.notifications import delivery
from membership.notifications.optout import reply_token
from tests.fakes import SPEC_SECRET, receiver, smtp_server, smtp_settings

__all__ = ["receiver", "smtp_server"]  # fixtures used by name

NIGHT = dt.datetime(2027, 1, 10, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
MORNING = dt.datetime(2027, 1, 11, 0, 1, tzinfo=dt.UTC)  # 08:01 in Shanghai
POINTS = {
    "name": "积分到期提醒",
    "purpose": "service",
    "subject_zh": "积分到期提醒",
    "body_zh": "{{ member.name }}，您有 {{ points }} 积分将于 {{ expires_on }} 到期。",
    "subject_en": "Points expiring",
    "body_en": "{{ member.name }}, {{ points }} points expire on {{ expires_on }}.",
}
PROMO = {
    "name": "周末双倍积分",
    "purpose": "marketing",
    "subject_zh": "周末双倍积分",
    "body_zh": "{{ member.name }}，本周末到店消费享双倍积分。",
}


async def setup(api, port: int | None = None, hook: str | None = None, **policy) -> None:
    program = f"/programs/{api.shop.program.id}"
    if port is not None:
        assert (
            await api.call("PUT", f"{program}/channels/email", "admin", {"settings": smtp_settings(port)})
        ).status_code == 200
    if hook is not None:
        settings = {"url": hook, "secret": SPEC_SECRET}
        assert (
            await api.call("PUT", f"{program}/channels/webhook", "admin", {"settings": settings})
        ).status_code == 200
    await api.call("PUT", f"{program}/channels/inbox", "admin", {"settings": {}})
    answer = await api.call(
        "PATCH", f"{program}/notification-policy", "admin", {"public_url": "https://crm.example", **policy}
    )
    assert answer.status_code == 200, answer.text
    for code, terms in (("points", POINTS), ("promo", PROMO)):
        made = await api.call("POST", f"{program}/message-templates", "admin", {"code": code, **terms})
        assert made.status_code == 201, made.text


async def member(api, name: str, phone: str, consents: dict | None = None, **profile) -> uuid.UUID:
    body = {"name": name, "phone": phone, "email": f"{phone}@example.com", "consents": consents or {}, **profile}
    answer = await api.call("POST", "/members", "pos", body)
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def states(member_id: uuid.UUID) -> list[tuple[str, str, str]]:
    rows = await fetch(
        "SELECT channel, state, reason FROM notification WHERE member_id = {} ORDER BY created_at, channel", member_id
    )
    return [(r["channel"], r["state"], r["reason"]) for r in rows]


VALUES = {"points": 1200, "expires_on": "2027-01-31"}


async def test_a_message_leaves_once_after_its_cause_commits_through_every_channel(any_api, smtp_server, receiver):
    api, (mailbox, port), endpoint = any_api, smtp_server, receiver()
    await setup(api, port, endpoint.url)
    wang = await member(api, "王芳", "13900000101")

    @use_case
    async def cause_that_fails() -> None:
        await delivery.enqueue(api.shop.program.id, wang, "points", ["email"], VALUES, "expiry:1")
        raise RuntimeError("the cause rolls back")

    with pytest.raises(RuntimeError):
        await cause_that_fails()
    assert await states(wang) == []

    channels = ["email", "webhook", "inbox"]
    first = await delivery.enqueue(api.shop.program.id, wang, "points", channels, VALUES, "expiry:1", now=MORNING)
    again = await delivery.enqueue(api.shop.program.id, wang, "points", channels, VALUES, "expiry:1", now=MORNING)
    assert len(first) == 3 and again == []

    outcome = await run_job("deliver-messages", as_of=MORNING)
    assert outcome.result.processed == 3
    assert await states(wang) == [("email", "sent", ""), ("inbox", "sent", ""), ("webhook", "sent", "")]
    assert (await run_job("deliver-messages", as_of=MORNING + dt.timedelta(minutes=5))).result.processed == 0

    assert len(mailbox.messages) == 1
    mail = email.message_from_bytes(mailbox.messages[0][2], policy=email.policy.default)
    assert mail["Subject"] == "积分到期提醒" and "List-Unsubscribe" not in mail  # a service message
    assert mail.get_body(("plain",)).get_content().strip() == "王芳，您有 1200 积分将于 2027-01-31 到期。"
    email_id = await fetch_one("SELECT id FROM notification WHERE member_id = {} AND channel = 'email'", wang)
    assert mail["Message-ID"] == f"<{email_id['id']}@yuexiang.example>"
    hook = endpoint.received[0]
    assert hook["genuine"] and uuid.UUID(hook["headers"]["webhook-id"]) in first
    inbox = (await api.call("GET", f"/members/{wang}/inbox", "read")).json()
    assert inbox["total"] == 1 and inbox["items"][0]["subject"] == "积分到期提醒"
    shown = (await api.call("GET", f"/members/{wang}/messages", "read")).json()
    assert {m["state"] for m in shown["items"]} == {"sent"} and all(m["provider_id"] for m in shown["items"])

    assert (await run_job("purge-messages", as_of=MORNING + dt.timedelta(days=89))).result.processed == 0
    assert (await run_job("purge-messages", as_of=MORNING + dt.timedelta(days=91))).result.processed == 3
    assert await states(wang) == []


async def test_a_failing_channel_is_tried_again_with_the_same_id_then_shows_the_failure(any_api, receiver):
    api = any_api
    flaky = receiver(statuses=[503, 204])
    await setup(api, hook=flaky.url)
    li = await member(api, "李娜", "13900000102")
    await delivery.enqueue(api.shop.program.id, li, "points", ["webhook"], VALUES, "k", now=MORNING)
    await run_job("deliver-messages", as_of=MORNING)
    row = await fetch_one(
        "SELECT state, attempts, last_error, next_attempt_at FROM notification WHERE member_id = {}", li
    )
    assert (row["state"], row["attempts"]) == ("pending", 1) and "503" in row["last_error"]
    await run_job("deliver-messages", as_of=MORNING + dt.timedelta(seconds=31))
    assert await states(li) == [("webhook", "sent", "")]
    ids = {r["headers"]["webhook-id"] for r in flaky.received}
    assert len(flaky.received) == 2 and len(ids) == 1  # at least once, one id: the receiver de-duplicates

    down = receiver(statuses=[503])
    await api.call(
        "PUT",
        f"/programs/{api.shop.program.id}/channels/webhook",
        "admin",
        {"settings": {"url": down.url, "secret": SPEC_SECRET}},
    )
    await delivery.enqueue(api.shop.program.id, li, "points", ["webhook"], VALUES, "k2", now=MORNING)
    at = MORNING
    for _ in range(delivery.MAX_ATTEMPTS):
        await run_job("deliver-messages", as_of=at)
        at += dt.timedelta(hours=2)
    failed = await fetch_one("SELECT state, attempts, last_error FROM notification WHERE dedup_key LIKE '%:k2:webhook'")
    assert (failed["state"], failed["attempts"]) == ("failed", delivery.MAX_ATTEMPTS) and "503" in failed["last_error"]
    assert len(down.received) == delivery.MAX_ATTEMPTS
    shown = (await api.call("GET", f"/members/{li}/messages", "read")).json()["items"][0]
    assert shown["state"] == "failed" and "HTTP 503" in shown["last_error"]


async def test_marketing_keeps_quiet_hours_needs_consent_and_stops_at_one_click(any_api, smtp_server):
    api, (mailbox, port) = any_api, smtp_server
    await setup(api, port)
    yes = await member(api, "赵敏", "13900000103", {"marketing_email": True})
    no = await member(api, "钱进", "13900000104")
    abroad = await member(
        api, "孙丽", "13900000105", {"marketing_email": True}, preferences={"time_zone": "Europe/London"}
    )
    for who in (yes, no, abroad):
        await delivery.enqueue(api.shop.program.id, who, "promo", ["email"], {}, "weekend-1", now=NIGHT)

    await run_job("deliver-messages", as_of=NIGHT)  # 23:00 in Shanghai, 15:00 in London
    assert await states(yes) == [("email", "pending", "quiet_hours")]
    assert await states(no) == [("email", "suppressed", "no_consent")]
    assert await states(abroad) == [("email", "sent", "")]
    waiting = await fetch_one("SELECT next_attempt_at FROM notification WHERE member_id = {}", yes)
    assert waiting["next_attempt_at"] in (dt.datetime(2027, 1, 11, 0, 0, tzinfo=dt.UTC), "2027-01-11 00:00:00+00:00")

    await run_job("deliver-messages", as_of=MORNING)
    assert await states(yes) == [("email", "sent", "")]
    mail = email.message_from_bytes(mailbox.messages[-1][2], policy=email.policy.default)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<https://crm\.example(/u/[^>]+)>", mail["List-Unsubscribe"])[1]
    page = await api.client.get(link)
    assert page.status_code == 200 and "退订" in page.text  # opening the link changes nothing
    assert (await fetch_one("SELECT consents FROM member WHERE id = {}", yes))["consents"] is not None
    clicked = await api.client.post(link, content=b"List-Unsubscribe=One-Click")
    assert clicked.status_code == 200 and "已退订" in clicked.text
    consents = (await api.call("GET", f"/members/{yes}/consents", "read")).json()
    assert consents["current"]["marketing_email"] is False
    assert consents["history"][-1]["source"] == "unsubscribe"
    forged = await api.client.post(link[:-3] + "abc")
    assert forged.status_code == 404

    await delivery.enqueue(api.shop.program.id, yes, "promo", ["email"], {}, "weekend-2", now=MORNING)
    await run_job("deliver-messages", as_of=MORNING)
    assert (await states(yes))[-1] == ("email", "suppressed", "no_consent")


async def test_frequency_caps_and_channel_rates(any_api):
    api = any_api
    await setup(api, marketing_per_day=1, marketing_per_week=5)
    fan = await member(api, "周杰", "13900000106", {"marketing_inbox": True})
    for n in (1, 2):
        await delivery.enqueue(api.shop.program.id, fan, "promo", ["inbox"], {}, f"promo-{n}", now=MORNING)
    await run_job("deliver-messages", as_of=MORNING)
    assert sorted(await states(fan)) == [("inbox", "sent", ""), ("inbox", "suppressed", "frequency_cap")]
    await delivery.enqueue(
        api.shop.program.id, fan, "promo", ["inbox"], {}, "promo-3", now=MORNING + dt.timedelta(days=1, minutes=1)
    )
    await run_job("deliver-messages", as_of=MORNING + dt.timedelta(days=1, minutes=1))
    assert (await states(fan))[-1] == ("inbox", "sent", "")

    await api.call(
        "PUT", f"/programs/{api.shop.program.id}/channels/inbox", "admin", {"settings": {}, "rate_per_minute": 2}
    )
    crowd = [await member(api, f"会员{n}", f"1390000020{n}") for n in range(5)]
    for who in crowd:
        await delivery.enqueue(api.shop.program.id, who, "points", ["inbox"], VALUES, "rate", now=MORNING)
    await run_job("deliver-messages", as_of=MORNING + dt.timedelta(days=2))
    found = [s for who in crowd for s in await states(who)]
    assert found.count(("inbox", "sent", "")) == 2 and found.count(("inbox", "pending", "rate_limit")) == 3
    await run_job("deliver-messages", as_of=MORNING + dt.timedelta(days=2, minutes=2))
    found = [s for who in crowd for s in await states(who)]
    assert found.count(("inbox", "sent", "")) == 4


async def test_an_erased_member_s_messages_and_inbox_are_forgotten(any_api):
    from membership.members.rights import erase_member

    api = any_api
    await setup(api)
    gone = await member(api, "郑爽", "13900000109")
    await delivery.enqueue(api.shop.program.id, gone, "points", ["inbox"], VALUES, "k", now=MORNING)
    await run_job("deliver-messages", as_of=MORNING)
    await erase_member(gone, actor="test", reason="会员申请注销")
    await run_job("purge-messages", as_of=MORNING + dt.timedelta(days=1))
    assert await states(gone) == []
    assert await fetch("SELECT id FROM inbox_message WHERE member_id = {}", gone) == []


async def test_an_sms_reply_of_t_opts_the_member_out(any_api):
    api = any_api
    fan = await member(api, "吴亮", "13900000107", {"marketing_sms": True})
    program = api.shop.program.id
    url = (await api.call("GET", f"/programs/{program}/notification-policy", "admin")).json()["sms_reply_url"]
    path = urllib.parse.urlsplit(url).path
    assert path == f"/hooks/sms-replies/{program}/{reply_token(program)}"
    ignored = await api.client.post(
        path, json=[{"phone_number": "13900000107", "content": "谢谢", "sign_name": "悦享"}]
    )
    assert ignored.json()["opted_out"] == 0
    aliyun = await api.client.post(path, json=[{"phone_number": "13900000107", "content": " t ", "sign_name": "悦享"}])
    assert aliyun.status_code == 200 and aliyun.json() == {"code": 0, "msg": "成功", "opted_out": 1}
    consents = (await api.call("GET", f"/members/{fan}/consents", "read")).json()
    assert consents["current"]["marketing_sms"] is False and consents["history"][-1]["source"] == "sms_reply"
    tencent = await api.client.post(path, json={"mobile": "13900000107", "nationcode": "86", "text": "退订"})
    assert tencent.json()["opted_out"] == 1
    wrong = await api.client.post(f"/hooks/sms-replies/{program}/not-the-token", json=[])
    assert wrong.status_code == 404


async def test_templates_compile_render_in_the_member_s_language_in_a_sandbox_with_a_preview(any_api):
    api = any_api
    await setup(api)
    base = f"/programs/{api.shop.program.id}/message-templates"
    broken = await api.call("POST", base, "admin", {"code": "bad", "name": "x", "body_zh": "{% if %}"}, lang="zh")
    assert broken.status_code == 422 and "第 1 行" in broken.json()["detail"]
    preview = await api.call("POST", f"{base}/points/preview", "read", {"language": "en", "values": VALUES})
    assert preview.json()["body"] == "王小明, 1200 points expire on 2027-01-31."
    missing = await api.call("POST", f"{base}/points/preview", "read", {"values": {"points": 1}}, lang="zh")
    assert missing.status_code == 422 and "expires_on" in missing.json()["detail"]
    sneaky = {"code": "sneaky", "name": "x", "body_zh": "{{ member.__class__.__mro__ }}"}
    assert (await api.call("POST", base, "admin", sneaky)).status_code == 201  # it compiles …
    refused = await api.call("POST", f"{base}/sneaky/preview", "read", {})
    assert refused.status_code == 422  # … and the sandbox refuses to run it

    english = await member(api, "Tom Lee", "13900000108", preferences={"language": "en"})
    sent = await api.call(
        "POST", f"/members/{english}/messages", "admin", {"template": "points", "channels": ["inbox"], "values": VALUES}
    )
    assert sent.status_code == 201, sent.text
    await delivery.wait_for_background()
    shown = (await api.call("GET", f"/members/{english}/messages", "read")).json()["items"][0]
    assert (shown["language"], shown["state"]) == ("en", "sent")
    assert shown["body"] == "Tom Lee, 1200 points expire on 2027-01-31."
    lacking = await api.call(
        "POST", f"/members/{english}/messages", "admin", {"template": "points", "channels": ["inbox"], "values": {}}
    )
    assert lacking.status_code == 422
    off = await api.call(
        "POST", f"/members/{english}/messages", "admin", {"template": "points", "channels": ["email"], "values": VALUES}
    )
    assert off.status_code == 422 and "email" in off.json()["detail"]


async def test_messages_queued_by_the_thousand_are_rendered_when_sent_in_each_member_s_language(any_api):
    api = any_api
    await setup(api)
    program = api.shop.program
    chinese = await member(api, "王芳", "13900000121")
    english = await member(api, "Tom Lee", "13900000122", preferences={"language": "en"})
    queued = [(chinese, "expiry:7", VALUES), (english, "expiry:7", VALUES)]

    @use_case
    async def queue(messages) -> None:
        await delivery.enqueue_many(program, "points", ["inbox"], messages, cause="test", now=MORNING)

    await queue(queued)
    await queue(queued)  # the same keys again: nothing more
    waiting = await fetch("SELECT language, body, state FROM notification ORDER BY member_id")
    assert waiting == [{"language": "", "body": "", "state": "pending"}] * 2  # words come when it is sent

    assert (await run_job("deliver-messages", as_of=MORNING)).result.processed == 2
    sent = {
        uuid.UUID(str(r["member_id"])): (r["language"], r["body"])
        for r in await fetch("SELECT member_id, language, body FROM notification WHERE state = 'sent'")
    }
    assert sent[chinese] == ("zh", "王芳，您有 1200 积分将于 2027-01-31 到期。")
    assert sent[english] == ("en", "Tom Lee, 1200 points expire on 2027-01-31.")
    inbox = (await api.call("GET", f"/members/{english}/inbox", "read")).json()["items"]
    assert [m["body"] for m in inbox] == ["Tom Lee, 1200 points expire on 2027-01-31."]

    with pytest.raises(ValidationError) as refused:  # a value the template needs: refused when queued
        await queue([(chinese, "expiry:8", {"points": 1})])
    assert "expires_on" in str(refused.value)
    changed = {**POINTS, "body_zh": "{{ member.name }}：{{ coupon }}"}  # the template changes before sending
    await queue([(chinese, "expiry:9", VALUES)])
    assert (
        await api.call("PUT", f"/programs/{program.id}/message-templates/points", "admin", changed)
    ).status_code == 200
    await run_job("deliver-messages", as_of=MORNING)
    failed = await fetch_one("SELECT state, last_error FROM notification WHERE dedup_key LIKE '%expiry:9%'")
    assert failed["state"] == "failed" and "coupon" in failed["last_error"]


async def test_a_background_delivery_starts_only_after_its_cause_commits(any_api):
    api = any_api
    await setup(api)
    wang = await member(api, "王芳", "13900000131")

    @use_case
    async def cause(fail: bool) -> list[uuid.UUID]:
        queued = await delivery.enqueue(api.shop.program.id, wang, "points", ["inbox"], VALUES, f"expiry:{fail}")
        delivery.deliver_soon(queued)
        assert not delivery._background  # inside the transaction: nothing started yet
        if fail:
            raise RuntimeError("the cause rolls back")
        return queued

    with pytest.raises(RuntimeError):
        await cause(True)
    assert not delivery._background and await states(wang) == []
    await cause(False)
    assert delivery._background  # started once committed …
    await delivery.wait_for_background()
    assert await states(wang) == [("inbox", "sent", "")]  # … and delivered
