"""Campaigns end to end on SQLite and PostgreSQL: a birthday campaign run as the jobs run it
(``jobs run … --at``) sends through SMTP to aiosmtpd and through the webhook fake, keeps quiet
hours, consent and opt-out, and never sends twice on a retry; a one-off campaign with a control
group gives coupons and points to its targets only and counts their purchases against the
control group; a recurring campaign serves each cron slot once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import uuid

from membership.crm.campaigns import in_control
from membership.crm.lunar import lunar_birthday_in_year
from membership.db import fetch, fetch_one
from membership.jobs.runner import run_job
from membership.ledger.rules import LineInput
from membership.notifications import delivery
from membership.sales import service as sales
from tests.fakes import SPEC_SECRET, receiver, smtp_server, smtp_settings

__all__ = ["receiver", "smtp_server"]  # fixtures used by name

BIRTHDAY_MORNING = dt.datetime(2027, 3, 14, 23, 0, tzinfo=dt.UTC)  # 07:00 on 15 March in Shanghai
AFTER_QUIET = dt.datetime(2027, 3, 15, 0, 1, tzinfo=dt.UTC)  # 08:01
BIRTHDAY = {
    "name": "生日祝福",
    "purpose": "marketing",
    "subject_zh": "生日快乐",
    "body_zh": "{{ member.name }}，生日快乐！{{ birthday }} 当天到店赠饮一杯。",
}


def lunar_born_on(day: dt.date) -> dt.date:
    """A solar birth date in 1990 whose lunar birthday falls on ``day``."""
    born = dt.date(1990, 1, 1)
    while lunar_birthday_in_year(born, day.year) != day:
        born += dt.timedelta(days=1)
    return born


async def enrol(api, name: str, phone: str, **profile) -> uuid.UUID:
    answer = await api.call("POST", "/members", "pos", {"name": name, "phone": phone, **profile})
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def states(member_id: uuid.UUID) -> list[tuple[str, str, str]]:
    rows = await fetch(
        "SELECT channel, state, reason FROM notification WHERE member_id = {} ORDER BY channel", member_id
    )
    return [(r["channel"], r["state"], r["reason"]) for r in rows]


async def test_a_birthday_campaign_sends_once_through_smtp_and_the_webhook_keeping_consent_and_quiet_hours(
    any_api, smtp_server, receiver
):
    api, (mailbox, port), endpoint = any_api, smtp_server, receiver()
    program = f"/programs/{api.shop.program.id}"
    await api.call("PUT", f"{program}/channels/email", "admin", {"settings": smtp_settings(port)})
    await api.call(
        "PUT", f"{program}/channels/webhook", "admin", {"settings": {"url": endpoint.url, "secret": SPEC_SECRET}}
    )
    await api.call("PATCH", f"{program}/notification-policy", "admin", {"public_url": "https://crm.example"})
    made = await api.call("POST", f"{program}/message-templates", "admin", {"code": "birthday", **BIRTHDAY})
    assert made.status_code == 201, made.text
    both = {"marketing_email": True, "marketing_webhook": True}
    glad = await enrol(api, "王芳", "13900000401", email="wang@example.com", birthday="1990-03-15", consents=both)
    lunar = lunar_born_on(dt.date(2027, 3, 15))
    moon = await enrol(
        api,
        "李月",
        "13900000402",
        email="li@example.com",
        birthday=lunar.isoformat(),
        birthday_calendar="lunar",
        consents=both,
    )
    silent = await enrol(api, "赵静", "13900000403", email="zhao@example.com", birthday="1988-03-15")
    refused = await enrol(
        api,
        "钱多",
        "13900000404",
        email="qian@example.com",
        birthday="1992-03-15",
        consents={"marketing_email": False, "marketing_webhook": True},
    )
    other_day = await enrol(api, "孙悦", "13900000405", email="sun@example.com", birthday="1990-03-16", consents=both)

    campaign = {
        "code": "birthday",
        "name": "生日礼遇",
        "when": {"kind": "trigger", "event": "birthday"},
        "template": "birthday",
        "channels": ["email", "webhook"],
    }
    created = await api.call("POST", f"{program}/campaigns", "admin", campaign)
    assert created.status_code == 201, created.text

    run = await run_job("run-campaigns", as_of=BIRTHDAY_MORNING)
    assert run.result.processed == 4
    assert await states(other_day) == []
    await run_job("deliver-messages", as_of=BIRTHDAY_MORNING)  # 07:00: quiet hours until 08:00
    assert await states(glad) == [("email", "pending", "quiet_hours"), ("webhook", "pending", "quiet_hours")]
    assert await states(silent) == [("email", "suppressed", "no_consent"), ("webhook", "suppressed", "no_consent")]
    assert await states(refused) == [("email", "suppressed", "no_consent"), ("webhook", "pending", "quiet_hours")]
    assert mailbox.messages == [] and endpoint.received == []

    await run_job("deliver-messages", as_of=AFTER_QUIET)
    for member in (glad, moon):
        assert await states(member) == [("email", "sent", ""), ("webhook", "sent", "")]
    assert sorted(to for _, (to,), _ in mailbox.messages) == ["li@example.com", "wang@example.com"]
    mail = email.message_from_bytes(mailbox.messages[0][2], policy=email.policy.default)
    assert mail["Subject"] == "生日快乐" and "2027-03-15 当天到店赠饮一杯" in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe"].startswith("<https://crm.example/u/")
    assert len(endpoint.received) == 3 and all(r["genuine"] for r in endpoint.received)  # 钱多 allowed webhooks

    again = await run_job("run-campaigns", as_of=AFTER_QUIET + dt.timedelta(hours=2))  # a retry, the next turn
    assert again.result.processed == 0
    await run_job("deliver-messages", as_of=AFTER_QUIET + dt.timedelta(hours=2))
    assert len(mailbox.messages) == 2 and len(endpoint.received) == 3
    results = (await api.call("GET", f"{program}/campaigns/birthday/results", "read")).json()
    assert results["target"]["members"] == 4 and results["messages"] == {"sent": 5, "suppressed": 3}


async def test_a_one_off_campaign_holds_back_a_control_group_and_counts_conversions(any_api):
    api = any_api
    program = f"/programs/{api.shop.program.id}"
    coupon = {"code": "back-10", "name": "回店 10 元券", "kind": "amount_off", "amount_off": 1000, "valid_days": 30}
    assert (await api.call("POST", f"{program}/coupon-templates", "admin", coupon)).status_code == 201
    people = [await enrol(api, f"会员{n}", f"1390000050{n}") for n in range(8)]
    everyone = [api.shop.member_id, *people]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    campaign = {
        "code": "comeback",
        "name": "回店礼",
        "when": {"kind": "once", "at": at.isoformat()},
        "coupon": "back-10",
        "points": 50,
        "control_pct": 50,
        "conversion_days": 7,
    }
    created = await api.call("POST", f"{program}/campaigns", "admin", campaign)
    assert created.status_code == 201, created.text
    campaign_id = (await fetch_one("SELECT id FROM campaign WHERE code = 'comeback'"))["id"]
    control = {m for m in everyone if in_control(campaign_id, m, 50)}
    assert 0 < len(control) < len(everyone)

    ran = (await api.call("POST", f"{program}/campaigns/comeback/run", "admin")).json()
    assert ran == {"targets": len(everyone) - len(control), "controls": len(control)}
    assert (await api.call("POST", f"{program}/campaigns/comeback/run", "admin")).json() == {
        "targets": 0,
        "controls": 0,
    }
    for member in everyone:
        held = await fetch("SELECT code FROM coupon WHERE member_id = {}", member)
        points = (await api.call("GET", f"/members/{member}/balances", "read")).json()["points"]
        assert (len(held), points) == ((0, 0) if member in control else (1, 50)), member

    buyer_target = next(m for m in everyone if m not in control)
    buyer_control = next(m for m in everyone if m in control)
    for member, amount in ((buyer_target, 30_000), (buyer_control, 12_000)):
        await sales.record_purchase(
            api.shop.program.id, api.shop.store_id, member, [LineInput("6901", 1, amount, "拿铁")]
        )
    results = (await api.call("GET", f"{program}/campaigns/comeback/results", "read")).json()
    assert results["target"] == {"members": len(everyone) - len(control), "converted": 1, "revenue": 30_000}
    assert results["control"] == {"members": len(control), "converted": 1, "revenue": 12_000}

    nothing = {"code": "empty", "name": "空", "when": {"kind": "once", "at": at.isoformat()}}
    refused = await api.call("POST", f"{program}/campaigns", "admin", nothing, lang="zh")
    assert refused.status_code == 422 and "发券" in refused.json()["detail"]
    bad_cron = {"code": "cron", "name": "x", "when": {"kind": "recurring", "cron": "every day"}, "points": 1}
    assert (await api.call("POST", f"{program}/campaigns", "admin", bad_cron)).status_code == 422


async def test_a_recurring_campaign_serves_each_cron_slot_once(any_api):
    api = any_api
    program = f"/programs/{api.shop.program.id}"
    campaign = {"code": "daily", "name": "每日签到礼", "when": {"kind": "recurring", "cron": "0 10 * * *"}, "points": 5}
    assert (await api.call("POST", f"{program}/campaigns", "admin", campaign)).status_code == 201
    ten = dt.datetime(2027, 5, 1, 2, 5, tzinfo=dt.UTC)  # 10:05 in Shanghai
    assert (await run_job("run-campaigns", as_of=ten)).result.processed == 1
    assert (await run_job("run-campaigns", as_of=ten + dt.timedelta(minutes=30))).result.processed == 0
    assert (await run_job("run-campaigns", as_of=ten + dt.timedelta(days=1))).result.processed == 1
    occasions = await fetch("SELECT occasion FROM campaign_member ORDER BY occasion")
    assert [r["occasion"] for r in occasions] == ["slot:2027-05-01T02:00Z", "slot:2027-05-02T02:00Z"]
    balance = (await api.call("GET", f"/members/{api.shop.member_id}/balances", "read")).json()["points"]
    assert balance == 10


async def test_opens_and_clicks_of_a_campaign_are_counted_where_the_channel_tells(any_api, smtp_server):
    api, (mailbox, port) = any_api, smtp_server
    program = f"/programs/{api.shop.program.id}"
    await api.call("PUT", f"{program}/channels/email", "admin", {"settings": smtp_settings(port)})
    await api.call("PUT", f"{program}/channels/inbox", "admin", {"settings": {}})
    quiet_never = {"quiet_start": "00:00", "quiet_end": "00:00"}  # sent whatever the hour the test runs
    policy = {"public_url": "https://crm.example", **quiet_never}
    assert (await api.call("PATCH", f"{program}/notification-policy", "admin", policy)).status_code == 200
    words = {"name": "会员日", "purpose": "marketing", "body_zh": "{{ member.name }}，会员日双倍积分：{{ link }}"}
    assert (
        await api.call("POST", f"{program}/message-templates", "admin", {"code": "day", **words})
    ).status_code == 201
    both = {"marketing_email": True, "marketing_inbox": True}
    fang = await enrol(api, "王芳", "13900000601", email="wang@example.com", consents=both)
    lei = await enrol(api, "李雷", "13900000602", email="li@example.com", consents=both)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    campaign = {
        "code": "day",
        "name": "会员日",
        "segment": None,
        "when": {"kind": "once", "at": at.isoformat()},
        "template": "day",
        "channels": ["email", "inbox"],
        "link": "https://shop.example/members-day?from=sms",
    }
    bad = {**campaign, "code": "bad", "link": "javascript:alert(1)"}
    assert (await api.call("POST", f"{program}/campaigns", "admin", bad)).status_code == 422  # https links only
    assert (await api.call("POST", f"{program}/campaigns", "admin", campaign)).status_code == 201
    assert (await api.call("POST", f"{program}/campaigns/day/run", "admin")).json()["targets"] == 3
    await run_job("deliver-messages")
    await delivery.wait_for_background()  # what the run's own delivery had claimed before the job

    mails = {to: email.message_from_bytes(raw, policy=email.policy.default) for _, (to,), raw in mailbox.messages}
    mail = mails["wang@example.com"]
    text = mail.get_body(("plain",)).get_content()
    tracked = text.split("：")[1].strip()
    assert tracked.startswith("https://crm.example/m/") and "shop.example" not in text  # the link, tracked
    pixel = mail.get_body(("html",)).get_content().split('src="')[1].split('"')[0]
    assert pixel == f"{tracked}/o.gif"

    local = "http://testserver"
    seen = await api.client.get(pixel.replace("https://crm.example", local))
    assert seen.status_code == 200 and seen.headers["content-type"] == "image/gif"
    followed = await api.client.get(tracked.replace("https://crm.example", local))
    assert followed.status_code == 302 and followed.headers["location"] == campaign["link"]
    assert (await api.client.get(tracked.replace("https://crm.example", local))).status_code == 302  # once counted
    forged = tracked[:-4] + ("aaaa" if not tracked.endswith("aaaa") else "bbbb")
    assert (await api.client.get(forged.replace("https://crm.example", local))).status_code == 404
    assert (await api.client.get(f"{local}/m/not-a-token")).status_code == 404

    inbox = (await api.call("GET", f"/members/{lei}/inbox", "read")).json()["items"][0]
    assert inbox["link"].startswith("https://crm.example/m/")
    assert (await api.call("POST", f"/members/{lei}/inbox/{inbox['id']}/read", "pos")).status_code == 204

    results = (await api.call("GET", f"{program}/campaigns/day/results", "read")).json()
    assert (results["opened"], results["clicked"]) == (2, 1)  # 王芳's e-mail (opened, clicked), 李雷's inbox read
    opened = await fetch("SELECT member_id, channel FROM notification WHERE opened_at IS NOT NULL ORDER BY channel")
    assert [(uuid.UUID(str(r["member_id"])), r["channel"]) for r in opened] == [(fang, "email"), (lei, "inbox")]
