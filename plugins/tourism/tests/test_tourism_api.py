"""The pack's API on SQLite and PostgreSQL: a gate's entry call (allowed or refused with a Chinese
reason, retried safely, only from the gate's store), selling passes and adding family members at
the till, the e-card code an app shows, the set-up routes, the reports; scopes, other merchants,
and the pack switched off."""

from __future__ import annotations

import datetime as dt

from tourism_park import ID_NUMBER

from membership.plugin import issue_credential
from membership.testing import enable_plugin, make_program


async def test_a_gate_lets_a_pass_holder_in_and_refuses_with_a_chinese_reason(park, api):
    sold = await api.call("POST", f"/tourism/members/{park.member_id}/passes", "pos", {"plan": "year-pass"})
    assert sold.status_code == 201, sold.text
    body = sold.json()
    assert (body["plan"], body["state"], body["kind"], body["bought"]["fee"]) == (
        "year-pass",
        "valid",
        "annual",
        29_800,
    )
    code = await api.call("GET", f"/tourism/passes/{body['id']}/e-card", "pos")
    assert code.status_code == 200 and code.json()["step_seconds"] == 30, code.text
    entry = {"gate": "S1", "credential": {"kind": "pass_qr", "value": code.json()["token"]}}
    headers = {"Idempotency-Key": "S1-000001"}
    first = await api.call("POST", "/tourism/entries", "gate", entry, headers=headers, lang="zh-CN")
    assert first.status_code == 200 and first.json()["allowed"] is True, first.text
    assert first.json()["message"] == "欢迎入园" and first.json()["name"] == "张*"
    replay = await api.call("POST", "/tourism/entries", "gate", entry, headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json()["entry_id"] == first.json()["entry_id"]
    again = await api.call("POST", "/tourism/entries", "gate", entry)
    assert again.status_code == 200 and again.json()["allowed"] is False
    assert again.json()["reason"] == "code_used" and "已使用" in again.json()["message"]
    assert again.json()["message_en"].startswith("This e-card code was used")
    unknown = await api.call(
        "POST", "/tourism/entries", "gate", {"gate": "S1", "credential": {"kind": "id_card", "value": ID_NUMBER}}
    )
    assert (
        unknown.json()["reason"] == "unknown_credential" and unknown.json()["message"] == "未找到该卡或证件对应的会员"
    )
    listed = await api.call("GET", f"/tourism/programs/{park.program.id}/entries")
    assert listed.status_code == 200, listed.text
    assert [c["entries"] for c in listed.json()["counts"]] == [1] and len(listed.json()["latest"]) == 3


async def test_the_gate_call_needs_a_till_key_of_the_gates_store(park, api):
    entry = {"gate": "S1", "credential": {"kind": "card_uid", "value": "04A1B2C3"}}
    assert (await api.call("POST", "/tourism/entries", "read", entry)).status_code == 403
    assert (await api.call("POST", "/tourism/entries", "hotel", entry)).status_code == 403  # the hotel's till
    assert (await api.call("POST", "/tourism/entries", "pos", {**entry, "gate": "E9"})).status_code == 404
    odd = await api.call("POST", "/tourism/entries", "pos", {**entry, "credential": {"kind": "palm", "value": "x"}})
    assert odd.status_code == 422 and odd.json()["code"] == "unknown_credential_kind"
    assert (await api.call("POST", "/tourism/entries", "stranger", entry)).status_code in (404, 422)


async def test_family_members_through_the_api(park, api):
    sold = (await api.call("POST", f"/tourism/members/{park.member_id}/passes", "pos", {"plan": "year-pass"})).json()
    wife = await park.member("李娜")
    added = await api.call(
        "POST", f"/tourism/passes/{sold['id']}/family", "pos", {"member_id": str(wife), "relation": "spouse"}
    )
    assert added.status_code == 201, added.text
    assert [(p["role"], p["relation"]) for p in added.json()["people"]] == [("holder", ""), ("family", "spouse")]
    theirs = await api.call("GET", f"/tourism/members/{wife}/passes")
    assert [(p["id"], p["role"]) for p in theirs.json()] == [(sold["id"], "family")]
    code = await api.call("GET", f"/tourism/passes/{sold['id']}/e-card", "pos", member_id=str(wife))
    assert code.json()["member_id"] == str(wife)
    assert (
        await api.call("POST", f"/tourism/passes/{sold['id']}/family", "read", {"member_id": str(wife)})
    ).status_code == 403
    gone = await api.call("DELETE", f"/tourism/passes/{sold['id']}/family/{wife}", "pos")
    assert gone.status_code == 204, gone.text
    missing = await api.call("GET", f"/tourism/passes/{sold['id']}/e-card", "pos", member_id=str(wife), lang="zh-CN")
    assert missing.status_code == 404 and "不在这张年卡上" in missing.json()["detail"]


async def test_set_up_routes_for_plans_blackout_dates_venues_and_gates(park, api):
    base = f"/tourism/programs/{park.program.id}"
    plans = await api.call("GET", f"{base}/pass-plans")
    assert [(p["code"], p["fee"], p["days"]) for p in plans.json()] == [
        ("summer-pass", 12_800, 92),
        ("year-pass", 29_800, 365),
    ]
    terms = {"kind": "annual", "max_family": 4, "daily_entries": 0, "reentry_minutes": 15}
    assert (await api.call("PUT", f"{base}/pass-plans/vip", "pos", terms)).status_code == 403
    saved = await api.call("PUT", f"{base}/pass-plans/vip", "admin", terms)
    assert saved.status_code == 200 and saved.json()["max_family"] == 4, saved.text
    missing = await api.call("PUT", f"{base}/pass-plans/nope", "admin", terms, lang="zh-CN")
    assert missing.status_code == 404 and "付费会员套餐" in missing.json()["detail"]
    day = await api.call(
        "PUT", f"{base}/blackout-dates/2027-10-01", "admin", {"name": "国庆节", "plans": ["year-pass"]}
    )
    assert day.status_code == 200 and day.json() == {"day": "2027-10-01", "name": "国庆节", "plans": ["year-pass"]}
    assert (await api.call("PUT", f"{base}/blackout-dates/2027-13-01", "admin", {"name": "x"})).status_code == 422
    assert [d["day"] for d in (await api.call("GET", f"{base}/blackout-dates", since="2027-01-01")).json()] == [
        "2027-10-01"
    ]
    assert (await api.call("DELETE", f"{base}/blackout-dates/2027-10-01", "admin")).status_code == 204
    venue = await api.call("PUT", f"{base}/venues/YQ02", "admin", {"format": "hotel", "pass_points_pct": 20})
    assert venue.status_code == 200 and venue.json()["pass_points_pct"] == 20, venue.text
    formats = {v["code"]: v["format"] for v in (await api.call("GET", f"{base}/venues")).json()}
    assert formats == {"YQ01": "tickets", "YQ02": "hotel", "YQ03": "dining"}
    gate = await api.call("PUT", f"{base}/gates/T1", "admin", {"name": "演艺厅检票口", "store": "YQ02"})
    assert gate.status_code == 200 and gate.json()["store_code"] == "YQ02", gate.text
    assert [g["code"] for g in (await api.call("GET", f"{base}/gates")).json()] == ["N1", "S1", "T1"]


async def test_reports_through_the_api(park, api):
    await park.sell()
    await issue_credential(park.member_id, "id_card", ID_NUMBER, None, "test")
    entry = {"gate": "N1", "credential": {"kind": "id_card", "value": ID_NUMBER}}
    assert (await api.call("POST", "/tourism/entries", "gate", entry)).json()["allowed"] is True
    base = f"/tourism/programs/{park.program.id}/reports"
    hours = await api.call("GET", f"{base}/tourism_entries", by="hour", months=1)
    assert hours.status_code == 200 and len(hours.json()["rows"]) == 24, hours.text
    hour = dt.datetime.now(park.program.zone).hour
    assert hours.json()["rows"][hour][1] == 1
    assert (await api.call("GET", f"{base}/tourism_revisits", by="total")).json()["rows"][0][1] == 1
    assert (await api.call("GET", f"{base}/nope")).status_code == 404
    assert (await api.call("GET", f"{base}/tourism_entries", by="week")).status_code == 422


async def test_another_merchant_sees_nothing_and_a_program_the_pack_is_off_for_is_refused(park, api):
    assert (await api.call("GET", f"/tourism/programs/{park.program.id}/gates", "stranger")).status_code == 404
    assert (await api.call("GET", f"/tourism/members/{park.member_id}/passes", "stranger")).status_code == 404
    other = await make_program(park.merchant_id, "不启用文旅包的方案")
    answer = await api.call("GET", f"/tourism/programs/{other.id}/gates", lang="zh-CN")
    assert answer.status_code == 409 and answer.json()["code"] == "tourism_off"
    assert "未启用文旅景区行业包" in answer.json()["detail"]
    await enable_plugin(park.program.id, "tourism", enabled=False)
    sold = await api.call("POST", f"/tourism/members/{park.member_id}/passes", "pos", {"plan": "year-pass"})
    assert sold.status_code == 409
    entry = {"gate": "S1", "program_id": str(park.program.id), "credential": {"kind": "card_uid", "value": "04A1B2C3"}}
    assert (await api.call("POST", "/tourism/entries", "pos", entry)).status_code == 409
