"""The built-in channels against real protocol fakes on 127.0.0.1: e-mail through an aiosmtpd
SMTP server (with AUTH), webhooks to an HTTP server that checks the Standard Webhooks signature
with its own code, the inbox; and a program's channel settings through the API (checked, secrets
sealed and never shown)."""

from __future__ import annotations

import email
import email.policy
import json

from membership.db import fetch, fetch_one
from membership.db.throwaway import free_port
from membership.notifications import webhook
from membership.notifications.interface import Message
from membership.notifications.service import send
from membership.notifications.smtp import SmtpEmail
from tests.fakes import SPEC_SECRET, receiver, smtp_server, smtp_settings

__all__ = ["receiver", "smtp_server"]  # fixtures used by name


async def test_an_email_reaches_the_smtp_server_with_its_one_step_opt_out(smtp_server):
    mailbox, port = smtp_server
    message = Message(
        "wang@example.com",
        "王芳您好：您的 1,200 积分将于 12 月 31 日到期。",
        "积分到期提醒",
        id="msg-01",
        html="<p>王芳您好</p>",
        unsubscribe="https://crm.example/u/abc",
    )
    report = await SmtpEmail(smtp_settings(port)).send(message)
    assert report.delivered, report.error
    assert report.provider_id == "msg-01@yuexiang.example"
    assert mailbox.logins == [(b"crm", b"s3cret")]
    sender, recipients, raw = mailbox.messages[0]
    assert (sender, recipients) == ("crm@yuexiang.example", ["wang@example.com"])
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "积分到期提醒"
    assert mail["From"] == "悦享会员 <crm@yuexiang.example>"
    assert mail["List-Unsubscribe"] == "<https://crm.example/u/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"] == "<msg-01@yuexiang.example>"
    assert mail.get_body(("plain",)).get_content().strip() == message.body
    assert mail.get_body(("html",)).get_content().strip() == "<p>王芳您好</p>"


async def test_smtp_failures_say_whether_a_retry_can_help(smtp_server):
    mailbox, port = smtp_server
    refused = await SmtpEmail(smtp_settings(port)).send(Message("nobody@refused.example", "x", "y"))
    assert (refused.delivered, refused.permanent) == (False, True) and "550" in refused.error
    busy = await SmtpEmail(smtp_settings(port)).send(Message("a@busy.example", "x", "y"))
    assert (busy.delivered, busy.permanent) == (False, False)
    down = await SmtpEmail(smtp_settings(free_port())).send(Message("a@example.com", "x", "y"))
    assert (down.delivered, down.permanent) == (False, False)
    assert mailbox.messages == []


# -- webhooks -------------------------------------------------------------------------------------


def test_signatures_match_the_standard_webhooks_test_vector():
    body = b'{"test": 2432232314}'
    signature = webhook.sign(SPEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330"}
    assert webhook.verify(SPEC_SECRET, {**headers, "webhook-signature": f"v1,bad {signature}"}, body, 1614265331)
    assert not webhook.verify(SPEC_SECRET, {**headers, "webhook-signature": signature}, body + b" ", 1614265331)
    assert not webhook.verify(SPEC_SECRET, {**headers, "webhook-signature": signature}, body, 1614265330 + 301)
    assert webhook.new_secret().startswith("whsec_") and webhook.new_secret() != webhook.new_secret()


async def test_a_webhook_is_signed_and_a_receiver_verifies_it(receiver):
    endpoint = receiver()
    message = Message("13812345678", "您的积分即将到期", "积分提醒", id="msg-7", purpose="service")
    report = await send("webhook", message, {"url": endpoint.url, "secret": SPEC_SECRET})
    assert report.delivered, report.error
    got = endpoint.received[0]
    assert got["genuine"] and got["headers"]["webhook-id"] == "msg-7"
    assert webhook.verify(SPEC_SECRET, got["headers"], got["body"])
    document = json.loads(got["body"])
    assert document["type"] == "message"
    assert document["data"] == {
        "id": "msg-7",
        "to": "13812345678",
        "subject": "积分提醒",
        "body": "您的积分即将到期",
        "template": "",
        "params": {},
        "link": "",
        "purpose": "service",
    }


async def test_webhook_failures_say_whether_a_retry_can_help(receiver):
    for status, permanent in ((503, False), (429, False), (400, True), (410, True)):
        endpoint = receiver(statuses=[status])
        report = await send("webhook", Message("x", "y", id="m"), {"url": endpoint.url, "secret": SPEC_SECRET})
        assert (report.delivered, report.permanent) == (False, permanent), status
        assert str(status) in report.error
    wrong_secret = receiver(secret=webhook.new_secret())
    report = await send("webhook", Message("x", "y", id="m"), {"url": wrong_secret.url, "secret": SPEC_SECRET})
    assert report.delivered is False and "401" in report.error
    unreachable = await send(
        "webhook", Message("x", "y", id="m"), {"url": f"http://127.0.0.1:{free_port()}/", "secret": SPEC_SECRET}
    )
    assert (unreachable.delivered, unreachable.permanent) == (False, False)


# -- a program's channels through the API, and the inbox -----------------------------------------


async def test_a_program_sets_up_a_channel_its_secret_sealed_and_never_shown(any_api, smtp_server):
    api, (mailbox, port) = any_api, smtp_server
    path = f"/programs/{api.shop.program.id}/channels/email"
    bad = await api.call("PUT", path, "admin", {"settings": {**smtp_settings(port), "port": 70000}}, lang="zh")
    assert bad.status_code == 422 and "port" in bad.json()["detail"]
    unknown = await api.call("PUT", f"/programs/{api.shop.program.id}/channels/pigeon", "admin", {"settings": {}})
    assert unknown.status_code == 422 and "email" in unknown.json()["detail"]

    saved = await api.call("PUT", path, "admin", {"settings": smtp_settings(port)})
    assert saved.status_code == 200, saved.text
    assert saved.json()["settings"]["password"] == "********"
    stored = await fetch_one("SELECT settings FROM channel_config WHERE channel = 'email'")
    assert "s3cret" not in stored["settings"] and json.loads(stored["settings"])["password"].startswith("v1.")
    audit = await fetch("SELECT details FROM audit_log WHERE action = 'channel.configure'")
    assert audit and all("s3cret" not in str(row["details"]) for row in audit)

    kept = await api.call("PUT", path, "admin", {"settings": {**smtp_settings(port), "password": ""}})
    assert kept.json()["settings"]["password"] == "********"
    tried = await api.call("POST", f"{path}/test", "admin", {"to": "boss@example.com"})
    assert tried.json()["delivered"] is True, tried.text
    assert mailbox.logins[-1] == (b"crm", b"s3cret") and mailbox.messages[-1][1] == ["boss@example.com"]

    listed = (await api.call("GET", f"/programs/{api.shop.program.id}/channels", "admin")).json()
    assert [c["channel"] for c in listed] == ["email"]
    kinds = {k["name"]: k for k in (await api.call("GET", "/channels", "read")).json()}
    assert {"email", "webhook", "inbox"} <= set(kinds)
    assert kinds["email"]["secrets"] == ["password"] and "host" in kinds["email"]["settings_schema"]["properties"]
    assert (await api.call("GET", f"/programs/{api.shop.program.id}/channels", "read")).status_code == 403


async def test_the_inbox_keeps_a_message_once_and_the_app_marks_it_read(any_api):
    api = any_api
    member = str(api.shop.member_id)
    await api.call("PUT", f"/programs/{api.shop.program.id}/channels/inbox", "admin", {"settings": {}})
    message = Message(member, "生日快乐！送您一张 20 元券。", "生日礼遇", id="birthday-2026")
    from membership.notifications.service import send_for_program

    first = await send_for_program(api.shop.program.id, "inbox", message)
    again = await send_for_program(api.shop.program.id, "inbox", message)
    assert first.delivered and again.delivered
    page = (await api.call("GET", f"/members/{member}/inbox", "read")).json()
    assert page["total"] == 1 and page["items"][0]["subject"] == "生日礼遇" and page["items"][0]["read_at"] is None
    read = await api.call("POST", f"/members/{member}/inbox/{page['items'][0]['id']}/read", "pos")
    assert read.status_code == 204
    assert (await api.call("GET", f"/members/{member}/inbox", "read")).json()["items"][0]["read_at"] is not None
    wrong = await api.call("POST", f"/members/{member}/inbox/{api.shop.program.id}/read", "pos")
    assert wrong.status_code == 404 and wrong.json()["code"] == "inbox_message_not_found"
    nobody = await send_for_program(api.shop.program.id, "inbox", Message("not-a-member", "x"))
    assert (nobody.delivered, nobody.permanent) == (False, True)
