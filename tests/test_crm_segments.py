"""Segments, their live count and uploads, RFM scores and lifecycle stages refreshed by the job
(run as of other times, as ``membership jobs run refresh-member-scores --at`` does), member tags
and tag rules, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from membership.db import fetch_one
from membership.jobs.runner import run_job

SPEND_30 = {"match": "all", "conditions": [{"field": "spend", "op": "gte", "value": 20000, "days": 30}]}


async def enrol(api, name: str, phone: str) -> dict:
    answer = await api.call("POST", "/members", "pos", {"name": name, "phone": phone})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def buy(api, member: dict, amount: int) -> None:
    answer = await api.buy(api.sale(amount, member_id=member["id"]))
    assert answer.status_code == 201, answer.text


async def refresh(days: int) -> str:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    outcome = await run_job("refresh-member-scores", as_of=at)
    return outcome.result.summary


def program_path(api, path: str) -> str:
    return f"/programs/{api.shop.program.id}{path}"


async def stages(api, *members: dict) -> list[str]:
    found = []
    for member in members:
        answer = await api.call("GET", f"/members/{member['id']}/score", "read")
        found.append(answer.json()["stage"] if answer.status_code == 200 else answer.json()["code"])
    return found


async def test_a_rule_segment_counts_live_lists_its_members_and_refuses_bad_rules(any_api):
    api = any_api
    big = await enrol(api, "李娜", "13900000001")
    small = await enrol(api, "王强", "13900000002")
    await buy(api, big, 15_000)
    await buy(api, big, 9_000)
    await buy(api, small, 5_000)

    live = await api.call("POST", program_path(api, "/segment-counts"), "read", {"definition": SPEND_30}, lang="zh")
    assert live.status_code == 200, live.text
    assert live.json()["count"] == 1
    assert live.json()["description_zh"] == "消费金额（近 30 天） ≥ ¥200.00"

    created = await api.call(
        "POST", program_path(api, "/segments"), "admin", {"code": "big", "name": "高消费", "definition": SPEND_30}
    )
    assert created.status_code == 201, created.text
    assert (await api.call("GET", program_path(api, "/segments/big/count"), "read")).json()["count"] == 1
    members = (await api.call("GET", program_path(api, "/segments/big/members"), "read")).json()
    assert [m["member_no"] for m in members["items"]] == [big["member_no"]] and members["total"] == 1

    await buy(api, small, 20_000)  # a rule segment is what its rules select when asked
    assert (await api.call("GET", program_path(api, "/segments/big/count"), "read")).json()["count"] == 2

    bad = {"match": "all", "conditions": [{"field": "spend", "op": "gte", "value": -5, "days": 30}]}
    refused = await api.call("POST", program_path(api, "/segment-counts"), "read", {"definition": bad}, lang="zh")
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
    assert "definition.conditions[0].value" in refused.json()["detail"] and "整数" in refused.json()["detail"]

    no_window = {"match": "all", "conditions": [{"field": "visits", "op": "gte", "value": 1}]}
    refused = await api.call("POST", program_path(api, "/segment-counts"), "read", {"definition": no_window})
    assert refused.status_code == 422 and "days" in refused.json()["detail"]

    unknown_tier = {"match": "all", "conditions": [{"field": "tier", "op": "in", "value": ["diamond"]}]}
    refused = await api.call("POST", program_path(api, "/segment-counts"), "read", {"definition": unknown_tier})
    assert refused.status_code == 422 and "diamond" in refused.json()["detail"]

    itself = {"match": "any", "conditions": [{"field": "segment", "op": "in", "value": ["big"]}]}
    changed = await api.call("PUT", program_path(api, "/segments/big"), "admin", {"name": "x", "definition": itself})
    assert changed.status_code == 422 and changed.json()["code"] == "segment_cycle"
    twice = await api.call("POST", program_path(api, "/segments"), "admin", {"code": "big", "name": "again"})
    assert twice.status_code == 409 and twice.json()["code"] == "segment_exists"

    others = await api.call("GET", program_path(api, "/segments"), "global")  # a key of the whole platform
    assert others.status_code == 200
    row = await fetch_one("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'segment.create'")
    assert row["n"] == 1


async def test_a_static_segment_takes_an_upload_of_member_numbers_and_phones(any_api):
    api = any_api
    first = await enrol(api, "赵敏", "13900000011")
    second = await enrol(api, "钱进", "13900000012")
    created = await api.call(
        "POST", program_path(api, "/segments"), "admin", {"code": "vip-list", "name": "名单", "kind": "static"}
    )
    assert created.status_code == 201, created.text
    lines = ["会员号", first["member_no"], "139 0000 0012", "not a number", "999999", ""]
    uploaded = await api.call(
        "POST", program_path(api, "/segments/vip-list/members"), "admin", {"lines": lines}, lang="zh"
    )
    assert uploaded.status_code == 200, uploaded.text
    done = uploaded.json()
    assert (done["members"], done["added"]) == (2, 2)
    assert [(u["line"], u["text"]) for u in done["unknown"]] == [(4, "not a number"), (5, "999999")]
    assert done["unknown"][0]["reason_zh"] == "不是会员号也不是手机号"
    listed = (await api.call("GET", program_path(api, "/segments/vip-list/members"), "read")).json()
    assert {m["member_id"] for m in listed["items"]} == {first["id"], second["id"]}

    again = await api.call(
        "POST",
        program_path(api, "/segments/vip-list/members"),
        "admin",
        {"lines": [second["member_no"]], "replace": True},
    )
    assert (again.json()["members"], again.json()["added"]) == (1, 0)

    in_list = {"match": "all", "conditions": [{"field": "segment", "op": "in", "value": ["vip-list"]}]}
    live = await api.call("POST", program_path(api, "/segment-counts"), "read", {"definition": in_list})
    assert live.json()["count"] == 1

    await api.call(
        "POST", program_path(api, "/segments"), "admin", {"code": "rules", "name": "规则", "definition": in_list}
    )
    refused = await api.call("POST", program_path(api, "/segments/rules/members"), "admin", {"lines": ["1"]})
    assert refused.status_code == 409 and refused.json()["code"] == "segment_not_static"
    in_use = await api.call("DELETE", program_path(api, "/segments/vip-list"), "admin")
    assert in_use.status_code == 409 and "segment:rules" in in_use.json()["detail"]
    assert (await api.call("DELETE", program_path(api, "/segments/rules"), "admin")).status_code == 204
    assert (await api.call("DELETE", program_path(api, "/segments/vip-list"), "admin")).status_code == 204
    gone = await api.call("GET", program_path(api, "/segments/vip-list"), "read")
    assert gone.status_code == 404 and gone.json()["code"] == "segment_not_found"


async def test_the_refresh_job_moves_members_through_the_stages_and_scores_them(any_api):
    api = any_api
    one = await enrol(api, "甲", "13900000021")
    two = await enrol(api, "乙", "13900000022")
    never = await enrol(api, "丙", "13900000023")
    await buy(api, one, 10_000)
    await buy(api, two, 10_000)
    await buy(api, two, 20_000)
    assert await stages(api, one) == ["member_not_scored"]

    assert "0 members" not in await refresh(0)
    assert await stages(api, one, two, never) == ["new", "new", "new"]
    await refresh(60)
    assert await stages(api, one, two, never) == ["active", "active", "dormant"]
    score = (await api.call("GET", f"/members/{two['id']}/score", "read")).json()
    assert (score["frequency"], score["monetary"], score["f"], score["m"]) == (2, 30_000, 3, 3)
    first = (await api.call("GET", f"/members/{one['id']}/score", "read")).json()
    assert (first["f"], first["m"]) == (1, 1)
    assert (await api.call("GET", f"/members/{never['id']}/score", "read")).json()["r"] is None

    await refresh(100)
    assert await stages(api, one, two, never) == ["dormant", "dormant", "dormant"]
    await refresh(200)
    assert await stages(api, one, two, never) == ["churned", "churned", "churned"]
    summary = await refresh(100)  # as of a time before the last refresh: nothing moves back
    assert "0 members" in summary
    assert await stages(api, one) == ["churned"]

    counts = (await api.call("GET", program_path(api, "/lifecycle"), "read")).json()
    assert counts["churned"] == 4 and counts["buyers"] == 2  # with the shop's own member
    assert (await refresh(201)).startswith("刷新 4 位会员的 RFM 与生命周期（0 位有变化）")

    window = await api.call("PATCH", program_path(api, "/crm-settings"), "admin", {"churned_after_days": 60}, lang="zh")
    assert window.status_code == 422 and "沉睡" in window.json()["detail"]
    window = await api.call("PATCH", program_path(api, "/crm-settings"), "admin", {"rfm_window_days": 100})
    assert window.json()["rfm_window_days"] == 100 and window.json()["churned_after_days"] == 180
    await refresh(202)  # nobody bought in the last 100 days (nor within the 180 days stages look at)
    score = (await api.call("GET", f"/members/{two['id']}/score", "read")).json()
    assert (score["frequency"], score["monetary"], score["f"], score["last_purchase_at"]) == (0, 0, None, None)


async def test_tags_are_given_by_hand_and_by_rules_that_follow_the_segment(any_api):
    api = any_api
    member = await enrol(api, "孙丽", "13900000031")
    changed = await api.call("POST", f"/members/{member['id']}/tags", "pos", {"add": ["咖啡", "VIP", "咖啡"]})
    assert changed.json() == {"tags": ["咖啡", "VIP"]}
    changed = await api.call("POST", f"/members/{member['id']}/tags", "pos", {"remove": ["VIP"], "add": ["烘焙"]})
    assert changed.json() == {"tags": ["咖啡", "烘焙"]}
    blank = await api.call("POST", f"/members/{member['id']}/tags", "pos", {"add": ["  "]}, lang="zh")
    assert blank.status_code == 422 and "标签" in blank.json()["detail"]

    dormant = {"match": "all", "conditions": [{"field": "stage", "op": "in", "value": ["dormant"]}]}
    await api.call(
        "POST", program_path(api, "/segments"), "admin", {"code": "dormant", "name": "沉睡", "definition": dormant}
    )
    rule = await api.call("POST", program_path(api, "/tag-rules"), "admin", {"tag": "沉睡", "segment": "dormant"})
    assert rule.status_code == 201, rule.text
    assert (
        await api.call("POST", program_path(api, "/tag-rules"), "admin", {"tag": "沉睡", "segment": "dormant"})
    ).status_code == 409

    await refresh(100)
    tagged = (await api.call("GET", f"/members/{member['id']}", "read")).json()["tags"]
    assert tagged == ["咖啡", "烘焙", "沉睡"]
    in_use = (await api.call("GET", program_path(api, "/tags"), "read")).json()
    assert {"tag": "沉睡", "members": 2} in in_use and {"tag": "咖啡", "members": 1} in in_use
    await refresh(200)  # churned: out of the segment, so the rule takes its tag back
    assert (await api.call("GET", f"/members/{member['id']}", "read")).json()["tags"] == ["咖啡", "烘焙"]

    in_use = await api.call("DELETE", program_path(api, "/segments/dormant"), "admin")
    assert in_use.status_code == 409 and "tag:沉睡" in in_use.json()["detail"]
    assert (await api.call("DELETE", program_path(api, "/tag-rules/沉睡"), "admin")).status_code == 204
    assert (await api.call("DELETE", program_path(api, "/tag-rules/沉睡"), "admin")).status_code == 404
