"""The pack's API on SQLite and PostgreSQL: stamp cards and dining rules of a program, a member's
cards, meals, tastes and allergies, reports; scopes, other merchants, and the pack switched off."""

from __future__ import annotations

from conftest import COFFEE, LATTE, coffees

from membership.testing import enable_plugin, make_program


async def test_stamp_schemes_are_listed_and_set_by_an_admin(restaurant, api):
    path = f"/catering/programs/{restaurant.program.id}/stamp-schemes"
    listed = await api.call("GET", path)
    assert listed.status_code == 200, listed.text
    [coffee] = listed.json()
    assert (coffee["code"], coffee["stamps_needed"], coffee["categories"]) == ("coffee", 10, ["咖啡"])
    tea = {"name": "奶茶集点卡", "skus": ["T001"], "stamps_needed": 8, "reward_template": "free-latte"}
    assert (await api.call("PUT", f"{path}/tea", "pos", tea)).status_code == 403
    saved = await api.call("PUT", f"{path}/tea", "admin", tea)
    assert saved.status_code == 200 and saved.json()["skus"] == ["T001"], saved.text
    bad = await api.call("PUT", f"{path}/tea", "admin", {**tea, "reward_template": "nope"}, lang="zh-CN")
    assert bad.status_code == 422 and "优惠券模板" in bad.json()["detail"]
    wrong = await api.call("PUT", f"{path}/tea", "admin", {**tea, "stamps_needed": "lots"})
    assert wrong.status_code in (400, 422)


async def test_a_members_cards_visits_and_the_latest_stamps(restaurant, api):
    await restaurant.buy(coffees(12), attributes={"party_size": "2", "service_mode": "takeaway"})
    answer = await api.call("GET", f"/catering/members/{restaurant.member_id}/stamp-cards")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [card] = body["cards"]
    assert (card["stamps"], card["card_no"], card["rewards"], card["stamps_needed"]) == (2, 2, 1, 10)
    assert [row["kind"] for row in body["latest"]] == ["reward", "earn"] or {r["kind"] for r in body["latest"]} == {
        "earn",
        "reward",
    }
    meals = await api.call("GET", f"/catering/members/{restaurant.member_id}/visits")
    [meal] = meals.json()
    assert (meal["service_mode"], meal["party_size"], meal["per_head"]) == ("takeaway", 2, 12 * 2_800 // 2)


async def test_tastes_and_allergies_are_kept_by_the_till_and_read_back(restaurant, api):
    path = f"/catering/members/{restaurant.member_id}/preferences"
    empty = await api.call("GET", path)
    assert empty.json()["tastes"] == [] and empty.json()["allergies"] == []
    body = {"tastes": ["微辣", " 不要香菜 ", "微辣"], "allergies": ["花生"], "note": "靠窗"}
    assert (await api.call("PUT", path, "read", body)).status_code == 403
    saved = await api.call("PUT", path, "pos", body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["tastes"] == ["微辣", "不要香菜"] and saved.json()["allergies"] == ["花生"]
    assert (await api.call("GET", path)).json()["note"] == "靠窗"
    too_many = await api.call("PUT", path, "pos", {"allergies": ["x"] * 21})
    assert too_many.status_code in (400, 422)


async def test_dining_rules_through_the_api(restaurant, api):
    path = f"/catering/programs/{restaurant.program.id}/dining-rules"
    rule = {"name": "晚市堂食双倍积分", "meal_periods": ["dinner"], "service_modes": ["dine_in"], "multiplier_pct": 200}
    saved = await api.call("PUT", f"{path}/dinner", "admin", rule)
    assert saved.status_code == 200 and saved.json()["multiplier_pct"] == 200, saved.text
    assert [r["code"] for r in (await api.call("GET", path)).json()] == ["dinner"]
    bad = await api.call("PUT", f"{path}/dinner", "admin", {**rule, "service_modes": ["drive_through"]})
    assert bad.status_code in (400, 422)


async def test_reports_through_the_api(restaurant, api):
    await restaurant.buy(LATTE, attributes={"party_size": "1"})
    path = f"/catering/programs/{restaurant.program.id}/reports"
    visits = await api.call("GET", f"{path}/catering_visits", by="store", months=3)
    assert visits.status_code == 200, visits.text
    assert visits.json()["rows"][0][:4] == ["SH01", "悦食 · 南京西路店", 1, 1]
    dishes = await api.call("GET", f"{path}/catering_dishes", by="member", member_id=str(restaurant.member_id))
    assert dishes.json()["rows"][0][2:5] == ["C002", "拿铁", 1]
    assert (await api.call("GET", f"{path}/nope")).status_code == 404
    assert (await api.call("GET", f"{path}/catering_visits", by="table")).status_code == 422


async def test_another_merchants_key_sees_nothing(restaurant, api):
    assert (
        await api.call("GET", f"/catering/programs/{restaurant.program.id}/stamp-schemes", "stranger")
    ).status_code == 404
    member = f"/catering/members/{restaurant.member_id}"
    assert (await api.call("GET", f"{member}/stamp-cards", "stranger")).status_code == 404
    assert (await api.call("PUT", f"{member}/preferences", "stranger", {"tastes": ["辣"]})).status_code == 404


async def test_a_program_the_pack_is_off_for_is_refused_with_409(restaurant, api):
    other = await make_program(restaurant.merchant_id, "不启用餐饮包的方案")
    answer = await api.call("GET", f"/catering/programs/{other.id}/stamp-schemes", lang="zh-CN")
    assert answer.status_code == 409 and answer.json()["code"] == "catering_off"
    assert "未启用餐饮行业包" in answer.json()["detail"]
    await enable_plugin(restaurant.program.id, "catering", enabled=False)
    member = await api.call("GET", f"/catering/members/{restaurant.member_id}/preferences")
    assert member.status_code == 409
    scheme = await api.call("PUT", f"/catering/programs/{restaurant.program.id}/stamp-schemes/coffee", "admin", COFFEE)
    assert scheme.status_code == 409


async def test_the_packs_routes_are_in_the_openapi_schema(api):
    schema = await api.http.get("/schema/openapi.json")
    assert schema.status_code == 200, schema.text[:500]
    paths = schema.json()["paths"]
    assert "/api/v1/catering/programs/{program_id}/stamp-schemes/{code}" in paths
    assert "/api/v1/catering/members/{member_id}/preferences" in paths
