"""Members, credentials, balances and the operational routes through HTTP."""

from __future__ import annotations

import uuid

from membership.db import fetch


async def test_enrol_search_patch_and_identify_by_phone(api):
    created = await api.call(
        "POST",
        "/members",
        json={"name": "王芳", "phone": "139 1234 5678", "birthday": "1990-08-15", "store_id": str(api.shop.store_id)},
    )
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["phone"] == "139****5678" and member["member_no"].isdigit()
    assert member["created_store_id"] == str(api.shop.store_id)

    for q in ("王", "13912345678", member["member_no"]):
        page = (await api.call("GET", "/members", "read", params={"q": q})).json()
        assert [m["id"] for m in page["items"]] == [member["id"]], q
        assert page["total"] == 1 and page["page"] == 1
    by_store = (await api.call("GET", "/members", "read", params={"store": str(api.shop.store_id)})).json()
    assert {m["name"] for m in by_store["items"]} == {"王芳", "张伟"}
    paged = (await api.call("GET", "/members", "read", params={"page_size": 1, "page": 2})).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1

    patched = await api.call("PATCH", f"/members/{member['id']}", json={"email": "Wang@Example.com", "birthday": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["email"].endswith("@example.com") and patched.json()["birthday"] is None
    assert patched.json()["name"] == "王芳"  # fields not sent are kept

    found = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13912345678"})
    assert found.status_code == 200
    assert found.json() == {
        "member_id": member["id"],
        "member_no": member["member_no"],
        "name": "王芳",
        "tier": None,
        "balances": {
            "points": 0,
            "points_debt": 0,
            "stored_value": 0,
            "growth": 0,
            "points_pending": 0,
            "stored_value_bonus": 0,
        },
        "next_expiry": None,
    }


async def test_enrol_errors_are_typed_and_translated(api):
    duplicate = await api.call("POST", "/members", json={"name": "重复", "phone": "13812345678"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_member"
    bad_phone = await api.call("POST", "/members", json={"name": "某人", "phone": "12345"}, lang="zh")
    assert bad_phone.status_code == 422
    assert bad_phone.json()["code"] == "invalid_phone" and bad_phone.json()["detail"] == "“12345” 不是有效的手机号码。"
    no_name = await api.call("POST", "/members", json={"phone": "13912345678"})
    assert no_name.status_code == 422 and no_name.json()["code"] == "validation_error"
    assert no_name.json()["errors"][0]["field"] == "name"
    no_name_zh = await api.call("POST", "/members", json={"phone": "13912345678"}, lang="zh")
    assert no_name_zh.json()["detail"] == "输入无效：name：缺少必填项 name", no_name_zh.text  # no English inside


async def test_member_not_found_everywhere(api):
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/members/{missing}"),
        ("GET", f"/members/{missing}/balances"),
        ("GET", f"/members/{missing}/ledger"),
    ]:
        answer = await api.call(method, path, "read")
        assert answer.status_code == 404 and answer.json()["code"] == "member_not_found"
    sale = await api.buy({**api.sale(), "member_id": str(missing)})
    assert sale.status_code == 404 and sale.json()["code"] == "member_not_found"


async def test_credentials_issue_replace_and_identify(api):
    member = str(api.shop.member_id)
    qr = await api.call("POST", f"/members/{member}/credentials", json={"kind": "qr_token"})
    assert qr.status_code == 201 and len(qr.json()["value"]) > 16
    card = (await api.call("POST", f"/members/{member}/credentials", json={"kind": "card_uid", "value": "0a0b"})).json()
    taken = await api.call("POST", f"/members/{member}/credentials", json={"kind": "card_uid", "value": "0A0B"})
    assert taken.status_code == 409 and taken.json()["code"] == "credential_exists"
    new = await api.call("POST", f"/credentials/{card['id']}/replace", json={"value": "0C0D", "reason": "损坏"})
    assert new.status_code == 201 and new.json()["state"] == "active"
    old = await api.call("GET", "/identify", params={"kind": "card_uid", "value": "0A0B"})
    assert old.status_code == 409 and old.json()["code"] == "credential_replaced"
    ok = await api.call("GET", "/identify", params={"kind": "card_uid", "value": "0c0d"})
    assert ok.status_code == 200 and ok.json()["member_id"] == member
    gone = await api.call("POST", f"/credentials/{uuid.uuid4()}/block", json={})
    assert gone.status_code == 404 and gone.json()["code"] == "credential_not_found"


async def test_adjust_redeem_and_ledger_reasons(api):
    member = str(api.shop.member_id)
    no_reason = await api.call("POST", f"/members/{member}/points/adjust", "admin", json={"points": 50})
    assert no_reason.status_code == 422
    added = await api.call(
        "POST", f"/members/{member}/points/adjust", "admin", json={"points": 800, "reason": "补录漏积分"}
    )
    assert added.status_code == 201 and added.json()["balances"]["points"] == 800
    redeem = {"points": 300, "reason": "兑换保温杯"}
    first = await api.call("POST", f"/members/{member}/points/redeem", json=redeem, **{"Idempotency-Key": "gift-1"})
    again = await api.call("POST", f"/members/{member}/points/redeem", json=redeem, **{"Idempotency-Key": "gift-1"})
    assert first.status_code == again.status_code == 201 and first.content == again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    short = await api.call(
        "POST", f"/members/{member}/points/redeem", json={"points": 9_999}, **{"Idempotency-Key": "gift-2"}
    )
    assert short.status_code == 409 and short.json()["code"] == "insufficient_points"
    assert (await api.call("GET", f"/members/{member}/balances", "read")).json()["points"] == 500

    ledger = (await api.call("GET", f"/members/{member}/ledger", "read", params={"page_size": 10})).json()
    assert ledger["total"] == 2
    assert [(e["amount"], e["reason"]) for e in ledger["items"]] == [(-300, "兑换保温杯"), (800, "补录漏积分")]
    audit = await fetch("SELECT actor FROM audit_log WHERE action = 'points.adjust'")
    assert audit == [{"actor": "api-key:test-admin"}]


async def test_stores_plugins_and_health(api):
    stores = (await api.call("GET", "/stores", "read")).json()
    assert [s["code"] for s in stores] == ["S1", "S2"]
    plugins = (await api.call("GET", "/plugins", "read")).json()
    assert "membership.builtin.points" in {p["name"] for p in plugins}
    health = await api.client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["pending_migrations"] == []
    docs = await api.client.get("/schema/swagger")
    assert docs.status_code == 200 and "/static/api/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text
    bundle = await api.client.get("/static/api/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000


async def test_unknown_route_and_method_are_problems(api):
    nowhere = await api.client.get("/api/v1/nowhere", headers=api.headers())
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
    wrong = await api.client.delete("/api/v1/stores", headers=api.headers())
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
