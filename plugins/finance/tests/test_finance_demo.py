"""The demo of a bank's card program: ``create_demo(industry="finance")`` on SQLite and PostgreSQL,
and ``membership serve --demo --industry finance`` from an empty folder, in a child process, with
its pack pages and a pack API call (a month's balances fed) answered."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

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


def _call(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {}, data=body, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_demo_industry_finance_from_an_empty_folder(demo_server):
    import httpx

    base, key, password = demo_server.base, demo_server.key, demo_server.password
    bearer = {"Authorization": f"Bearer {key}", "Accept-Language": "zh-CN"}
    status, body = _call(f"{base}/api/v1/programs", bearer)
    assert status == 200, body
    program_id = re.search(r'"id":"([0-9a-f-]{36})"', body)[1]
    status, body = _call(f"{base}/api/v1/finance/programs/{program_id}/mcc-rules", bearer)
    assert status == 200 and "餐饮双倍积分" in body and "公共事业（水电煤气）" in body, body
    status, body = _call(f"{base}/api/v1/members?page_size=1", bearer)
    assert status == 200, body
    member_no = re.search(r'"member_no":"(\d+)"', body)[1]
    feed = json.dumps({"month": "2026-01", "balances": [{"member_no": member_no, "balance": 700_000_000}]})
    headers = {**bearer, "Content-Type": "application/json"}
    status, body = _call(f"{base}/api/v1/finance/programs/{program_id}/balances", headers, feed.encode())
    assert status == 200 and '"stored":1' in body, body
    with httpx.Client(base_url=base, timeout=30) as console:
        console.get("/console/login")
        form = {"username": "demo", "password": password, "next": "/console/counter"}
        logged = console.post("/console/login", data={**form, "_csrf_token": console.cookies["csrftoken"]})
        assert logged.status_code == 303, logged.text
        for path, words in (
            (f"?q={member_no}", "621888******"),
            ("/mcc", "餐饮双倍积分"),
            ("/assets", "core-banking-"),
            (f"/statements?q={member_no}", "期末余额"),
        ):
            page = console.get(f"/console/finance{path}")
            assert page.status_code == 200 and words in page.text, (path, page.text[:500])
