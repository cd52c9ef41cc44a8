"""The demo of a bank's card program: ``create_demo(industry="finance")`` on SQLite and PostgreSQL,
and ``membership serve --demo --industry finance`` from an empty folder, in a child process (the
kit's ``serve_demo``), with its pack pages and a pack API call (a month's balances fed) answered."""

from __future__ import annotations

import json
import re

from membership.plugin import fetch, get_program
from membership_finance import mcc
from membership_finance.values import month_of, now, previous_month


async def test_the_demo_builds_a_card_program_with_the_pack_on(finance):
    from membership.demo.service import create_demo

    summary = await create_demo(members_count=40, purchases=160, seed=11, industry="finance")
    program = await get_program(summary.program.id)
    assert program.name == "银河信用卡积分" and "finance" in program.plugins and len(summary.store_ids) == 4
    assert [t["name"] for t in program.settings["tiers"]] == ["普卡", "金卡", "白金卡", "钻石卡"]
    assert "5811-5814" in [rule.mccs for rule in await mcc.list_rules(program.id)]
    members = await fetch(
        "SELECT id_number_hash, preferences, consents, tier FROM member WHERE program_id = {}", program.id
    )
    assert len(members) == 40 and all(m["id_number_hash"] for m in members)
    assert all('"kyc_status": "verified"' in m["preferences"] for m in members)
    assert all(json.loads(m["consents"])["sensitive_info"] for m in members)
    assert len({m["tier"] for m in members}) >= 3  # assets spread the cardholders over the tiers
    cards = await fetch("SELECT value_hint FROM credential WHERE kind = 'bank_card'")
    assert len(cards) == 40 and all(re.fullmatch(r"621888\*{6}\d{4}", c["value_hint"]) for c in cards)
    kinds = await fetch("SELECT attributes, points_earned, total FROM sale WHERE program_id = {}", program.id)
    assert any('"bill_payment"' in s["attributes"] for s in kinds) and any(
        '"instalment"' in s["attributes"] for s in kinds
    )
    excluded = [s for s in kinds if '"mcc": "4900"' in s["attributes"] and '"purchase"' in s["attributes"]]
    assert excluded and all(s["points_earned"] == 0 for s in excluded)
    last = previous_month(month_of(program, now()))
    statements = await fetch("SELECT COUNT(*) AS n FROM finance_statement WHERE month = {}", last)
    assert statements[0]["n"] > 0
    feeds = await fetch("SELECT COUNT(*) AS n FROM finance_feed WHERE program_id = {}", program.id)
    assert feeds[0]["n"] == 3


def test_serve_demo_industry_finance_from_an_empty_folder(demo_server):
    import httpx

    bearer = {"Authorization": f"Bearer {demo_server.key}", "Accept-Language": "zh-CN"}
    with httpx.Client(base_url=f"{demo_server.base}/api/v1", headers=bearer, timeout=30) as api:
        programs = api.get("/programs")
        assert programs.status_code == 200, programs.text
        program_id = programs.json()[0]["id"]
        rules = api.get(f"/finance/programs/{program_id}/mcc-rules")
        assert rules.status_code == 200 and "餐饮双倍积分" in rules.text and "公共事业（水电煤气）" in rules.text
        member_no = api.get("/members", params={"page_size": 1}).json()["items"][0]["member_no"]
        feed = {"month": "2026-01", "balances": [{"member_no": member_no, "balance": 700_000_000}]}
        fed = api.post(f"/finance/programs/{program_id}/balances", json=feed)
        assert fed.status_code == 200 and fed.json()["stored"] == 1, fed.text
    with httpx.Client(base_url=demo_server.base, timeout=30) as console:
        console.get("/console/login")
        form = {"username": "demo", "password": demo_server.password, "next": "/console/counter"}
        logged = console.post("/console/login", data={**form, "_csrf_token": console.cookies["csrftoken"]})
        assert logged.status_code == 303, logged.text
        # the server is shared with the browser test, which leaves the demo owner in English
        chinese = {"language": "zh_CN", "_csrf_token": console.cookies["csrftoken"]}
        assert console.post("/console/language", data=chinese).status_code == 303
        for path, words in (
            (f"?q={member_no}", "621888******"),
            ("/mcc", "餐饮双倍积分"),
            ("/assets", "core-banking-"),
            (f"/statements?q={member_no}", "期末余额"),
        ):
            page = console.get(f"/console/finance{path}")
            assert page.status_code == 200 and words in page.text, (path, page.text[:500])
