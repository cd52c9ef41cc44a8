"""Satisfaction surveys on SQLite and PostgreSQL: a purchase invites the member through the event
outbox and the inbox channel once the delay is over; the signed link answers once; NPS and CSAT
by store, tier and week match a hand computation on a fixed data set."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from membership.care import surveys
from membership.care.reports import SatisfactionTrend
from membership.db import fetch, fetch_one
from membership.jobs.runner import run_job
from membership.members import service as members
from membership.notifications.config import configure_channel
from membership.outbox import service as outbox
from membership.testing import make_member, make_sale
from membership.tiers import service as tiers
from tests.console_client import csrf_of, text_of
from tests.fakes import smtp_server, smtp_settings

__all__ = ["smtp_server"]  # the fixture, used by name

NPS = {
    "code": "after-visit",
    "name": "到店体验",
    "kind": "nps",
    "question_zh": "您有多大可能向朋友推荐我们？",
    "question_en": "How likely are you to recommend us to a friend?",
    "channels": ["inbox"],
    "delay_minutes": 120,
}
CSAT = {**NPS, "code": "service", "name": "服务满意度", "kind": "csat", "question_zh": "您对本次服务满意吗？"}
CSAT["question_en"] = "How satisfied are you with our service?"


async def _set_up(api) -> str:
    program = f"/programs/{api.shop.program.id}"
    assert (await api.call("PUT", f"{program}/channels/inbox", "admin", {"settings": {}})).status_code == 200
    policy = {"quiet_start": "00:00", "quiet_end": "00:00", "public_url": "https://vip.example"}
    assert (await api.call("PATCH", f"{program}/notification-policy", "admin", policy)).status_code == 200
    return program


async def _consenting(api, name: str, phone: str) -> uuid.UUID:
    answer = await api.call(
        "POST", "/members", "pos", {"name": name, "phone": phone, "consents": {"marketing_inbox": True}}
    )
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def test_a_purchase_invites_through_the_inbox_after_the_delay_and_the_link_answers_once(any_api):
    api = any_api
    program = await _set_up(api)
    made = await api.call("POST", f"{program}/surveys", "admin", NPS)
    assert made.status_code == 201, made.text
    assert made.json()["terms"]["template"] == "survey-invite"
    plugins = (await api.call("GET", f"{program}/plugins", "admin")).json()
    assert any(p["name"] == surveys.PLUGIN and p["enabled"] for p in plugins), plugins

    member = await _consenting(api, "王芳", "13900000701")
    bought = await api.buy({**api.sale(5_000), "member_id": str(member)})
    assert bought.status_code == 201, bought.text
    await outbox.wait_for_background()
    await run_job("deliver-events")  # whatever the background left
    sends = await fetch("SELECT id, occasion, due_at FROM survey_send WHERE member_id = {}", member)
    assert [s["occasion"] for s in sends] == [f"sale:{bought.json()['id']}"]
    due = sends[0]["due_at"]

    await run_job("deliver-events")  # a repeated delivery invites nobody twice
    assert len(await fetch("SELECT id FROM notification WHERE member_id = {}", member)) == 1
    await run_job("deliver-messages", as_of=due - dt.timedelta(minutes=1))
    assert await fetch("SELECT id FROM inbox_message WHERE member_id = {}", member) == []
    await run_job("deliver-messages", as_of=due + dt.timedelta(minutes=1))
    inbox = await fetch("SELECT body, link FROM inbox_message WHERE member_id = {}", member)
    assert len(inbox) == 1 and "您有多大可能向朋友推荐我们？" in inbox[0]["body"]
    tracked = inbox[0]["link"]  # the message's link counts the click, then leads to the answer page
    followed = await api.client.get(tracked.removeprefix("https://vip.example"))
    assert tracked.startswith("https://vip.example/m/") and followed.status_code == 302
    link = followed.headers["location"]
    assert link.startswith("https://vip.example/s/") and link in inbox[0]["body"]
    path = link.removeprefix("https://vip.example")

    page = await api.client.get(path)
    assert page.status_code == 200 and "您有多大可能向朋友推荐我们？" in page.text
    assert page.text.count('type="radio" name="score"') == 11 and "<script" not in page.text
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]
    english = await api.client.get(path, params={"lang": "en"})
    assert "How likely are you to recommend us to a friend?" in english.text
    missing = await api.client.post(path, data={"comment": "没选分"})
    assert missing.status_code == 422 and "请选择 0 到 10 之间的分数" in missing.text and "没选分" in missing.text
    done = await api.client.post(path, data={"score": "9", "comment": "咖啡很好喝"})
    assert done.status_code == 200 and "感谢您的评价" in done.text
    again = await api.client.post(path, data={"score": "2"})
    assert again.status_code == 409 and "您已评价过" in again.text
    token = path.removeprefix("/s/")
    by_api = await api.call("POST", f"/survey-answers/{token}", None, {"score": 1})
    assert by_api.status_code == 409 and by_api.json() == {"outcome": "answered"}
    row = await fetch_one("SELECT score, comment FROM survey_send WHERE member_id = {}", member)
    assert (row["score"], row["comment"]) == (9, "咖啡很好喝")

    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    assert (await api.client.get(f"/s/{forged}")).status_code == 404
    results = (await api.call("GET", f"{program}/surveys/after-visit/results", "read")).json()
    assert results["invited"] == 1 and results["overall"]["answers"] == 1 and results["overall"]["nps"] == "100.0"


async def test_an_expired_link_and_a_score_off_the_scale_are_refused(any_api):
    api = any_api
    program = await _set_up(api)
    assert (await api.call("POST", f"{program}/surveys", "admin", {**CSAT, "delay_minutes": 0})).status_code == 201
    member = await _consenting(api, "李雷", "13900000702")
    await make_sale(api.shop.program.id, api.shop.store_id, member, 1_000)
    await outbox.wait_for_background()
    await run_job("deliver-events")
    send = await fetch_one("SELECT id, expires_at FROM survey_send WHERE member_id = {}", member)
    token = surveys.answer_token(uuid.UUID(str(send["id"])))
    off = await api.call("POST", f"/survey-answers/{token}", None, {"score": 6})
    assert off.status_code == 422 and off.json()["code"] == "validation_error"
    late = send["expires_at"] + dt.timedelta(seconds=1)
    assert await surveys.answer(token, 5, now=late) == "expired"
    page = await api.client.get(f"/s/{token}")
    assert page.status_code == 200  # not expired by the real clock: still open
    assert await surveys.answer("nothing.here", 5) == "invalid"


def test_the_sample_is_a_fixed_share_of_the_occasions():
    survey = uuid.uuid4()
    chosen = [surveys.sampled(survey, f"sale:{n}", 30) for n in range(2_000)]
    assert 500 <= sum(chosen) <= 700
    assert chosen == [surveys.sampled(survey, f"sale:{n}", 30) for n in range(2_000)]
    assert all(surveys.sampled(survey, f"sale:{n}", 100) for n in range(100))


NPS_SCORES = [
    (0, "gold", 10),
    (0, "gold", 9),
    (0, "", 6),
    (1, "gold", 9),
    (1, "", 8),
    (1, "", 7),
    (1, "", 3),
    (1, "", 10),
]
CSAT_SCORES = [(0, "", 5), (0, "gold", 4), (1, "", 3), (1, "gold", 5)]


async def _answer_all(api, program: str, code: str, scores, stores, when: dt.datetime) -> None:
    for n, (store, tier, score) in enumerate(scores):
        member = await make_member(api.shop.program.id, name=f"{code}{n}", store_id=stores[store])
        await members.update_profile(member, {"consents": {"marketing_inbox": True}})
        await make_sale(api.shop.program.id, stores[store], member, 200_000 if tier else 1_000)  # gold from ¥1,000
        await outbox.wait_for_background()
        await run_job("deliver-events")
        sends = await fetch(
            "SELECT d.id FROM survey_send d JOIN survey s ON s.id = d.survey_id WHERE d.member_id = {} AND s.code = {}",
            member,
            code,
        )
        assert len(sends) == 1
        token = surveys.answer_token(uuid.UUID(str(sends[0]["id"])))
        assert await surveys.answer(token, score, now=when) == "recorded"


async def test_nps_and_csat_by_store_tier_and_week_match_a_hand_computation(any_api):
    api = any_api
    program = await _set_up(api)
    await tiers.configure(api.shop.program.id, [{"code": "gold", "name": "金卡", "threshold": 1000}], None, "test")
    for terms in (NPS, CSAT):
        assert (await api.call("POST", f"{program}/surveys", "admin", terms)).status_code == 201
    stores = [api.shop.store_id, api.shop.other_store_id]
    monday = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)  # 12:00 on Monday 30 Nov in Shanghai
    await _answer_all(api, program, "after-visit", NPS_SCORES[:5], stores, monday)
    await _answer_all(api, program, "after-visit", NPS_SCORES[5:], stores, monday + dt.timedelta(days=7))
    await _answer_all(api, program, "service", CSAT_SCORES, stores, monday + dt.timedelta(days=2))

    # all: promoters 10, 9, 9, 10 = 4; detractors 6, 3 = 2; of 8 → 50 % − 25 % = 25.0
    overall = (await surveys.figures(api.shop.program.id, "", "after-visit"))[0]
    assert (overall.answers, overall.promoters, overall.passives, overall.detractors) == (8, 4, 2, 2)
    assert overall.shown()["nps"] == Decimal("25.0")
    by_store = {
        str(f.group): f.shown()["nps"] for f in await surveys.figures(api.shop.program.id, "store", "after-visit")
    }
    # store 1: 10, 9, 6 → (2 − 1) / 3 = 33.3; store 2: 9, 8, 7, 3, 10 → (2 − 1) / 5 = 20.0
    assert by_store == {str(stores[0]): Decimal("33.3"), str(stores[1]): Decimal("20.0")}
    by_tier = {f.group: f.shown()["nps"] for f in await surveys.figures(api.shop.program.id, "tier", "after-visit")}
    # gold: 10, 9, 9 → 100.0; none: 6, 8, 7, 3, 10 → (1 − 2) / 5 = −20.0
    assert by_tier == {"gold": Decimal("100.0"), "": Decimal("-20.0")}
    weekly = (await api.call("GET", f"{program}/surveys/after-visit/results", "read", params={"by": "week"})).json()
    # week of 30 Nov: 10, 9, 6, 9, 8 → (3 − 1) / 5 = 40.0; week of 7 Dec: 7, 3, 10 → (1 − 1) / 3 = 0.0
    assert [(g["group"], g["answers"], g["nps"]) for g in weekly["groups"]] == [
        ("2026-11-30", 5, "40.0"),
        ("2026-12-07", 3, "0.0"),
    ]
    csat = (await api.call("GET", f"{program}/surveys/service/results", "read", params={"by": "store"})).json()
    # 5, 4, 3, 5: average 17 / 4 = 4.25, satisfied 3 / 4 = 75.0; store 1: 4.50, 100.0; store 2: 4.00, 50.0
    assert (csat["overall"]["csat"], csat["overall"]["satisfied_pct"]) == ("4.25", "75.0")
    assert {g["group"]: (g["csat"], g["satisfied_pct"]) for g in csat["groups"]} == {
        str(stores[0]): ("4.50", "100.0"),
        str(stores[1]): ("4.00", "50.0"),
    }
    trend = (await SatisfactionTrend().run(api.shop.program.id, {})).as_dicts()
    assert [(str(r["week"]), r["kind"], r["answers"], r["nps"], r["csat"]) for r in trend] == [
        ("2026-11-30", "nps", 5, Decimal("40.0"), None),
        ("2026-11-30", "csat", 4, None, Decimal("4.25")),
        ("2026-12-07", "nps", 3, Decimal("0.0"), None),
    ]


async def test_staff_make_a_survey_in_the_console_and_read_its_results(any_console):
    console = any_console
    shop = console.shop
    await configure_channel(shop.program.id, "inbox", {}, True, "test")
    async with console.logged_in("manager") as client:
        form = await client.get("/console/surveys/new")
        assert form.status_code == 200 and "站内信" in form.text and "您有多大可能向朋友推荐我们？" in form.text
        typed = {
            "new": "1",
            "code": "after-visit",
            "name": "到店体验",
            "kind": "nps",
            "send_after": "purchase",
            "question_zh": "您有多大可能向朋友推荐我们？",
            "question_en": "How likely are you to recommend us?",
            "delay_minutes": "两小时",
            "sample_pct": "100",
            "valid_days": "7",
            "channels": "inbox",
            "active": "1",
            "_csrf_token": csrf_of(client),
        }
        refused = await client.post("/console/surveys", data=typed)
        assert refused.status_code == 422 and "延迟分钟数无效：请填写整数" in text_of(refused.text)
        assert "到店体验" in refused.text
        saved = await client.post("/console/surveys", data={**typed, "delay_minutes": "0"})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/surveys?done=saved"
        listed = await client.get(saved.headers["location"])
        assert "到店体验" in listed.text and "调查已保存" in listed.text

        await members.update_profile(shop.member_id, {"consents": {"marketing_inbox": True}})
        await make_sale(shop.program.id, shop.store_id, shop.member_id, 3_000)
        await outbox.wait_for_background()
        await run_job("deliver-events")
        send = await fetch_one("SELECT id FROM survey_send WHERE member_id = {}", shop.member_id)
        assert await surveys.answer(surveys.answer_token(uuid.UUID(str(send["id"]))), 6, "排队太久") == "recorded"
        results = await client.get("/console/surveys/after-visit/results")
        text = text_of(results.text)
        assert results.status_code == 200 and "NPS -100.0" in text and "排队太久" in text and "一号店" in text
        assert 'id="trend-data"' in results.text and "/console/static/survey-trend.js" in results.text
        token = csrf_of(client)
        unconfirmed = await client.post("/console/surveys/after-visit/delete", data={"_csrf_token": token})
        assert unconfirmed.status_code == 422
        kept = await client.post("/console/surveys/after-visit/delete", data={"confirm": "yes", "_csrf_token": token})
        assert kept.status_code == 409 and "不能删除，请改为停用" in kept.text
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/surveys")).status_code == 403


async def test_a_survey_sent_outside_the_console_needs_the_public_address(any_api, smtp_server):
    api = any_api
    program = f"/programs/{api.shop.program.id}"
    await api.call("PUT", f"{program}/channels/email", "admin", {"settings": smtp_settings(smtp_server[1])})
    refused = await api.call("POST", f"{program}/surveys", "admin", {**NPS, "channels": ["email"]})
    assert refused.status_code == 422 and "public_url" in refused.json()["detail"]
    await api.call("PATCH", f"{program}/notification-policy", "admin", {"public_url": "https://vip.example"})
    assert (await api.call("POST", f"{program}/surveys", "admin", {**NPS, "channels": ["email"]})).status_code == 201
