"""Loyalty configuration in the console: points rules (added in their forms, refused with the
reason beside the field, retired once confirmed), the simulator explaining each point, the points
policy, tiers, paid plans and top-up plans (each also as JSON for integrators), coupons."""

from __future__ import annotations

import html
import json

from membership.coupons import service as coupons
from membership.ledger.points_rules import change_rule, list_rules
from membership.ledger.rulebook import PointsRule
from membership.ledger.rules import LineInput
from membership.org.service import get_program
from membership.sales import service as sales
from membership.tiers.policy import tier_config
from tests.console_client import csrf_of, text_of


async def test_a_manager_adds_a_rule_and_the_simulator_explains_the_points(console):
    shop = console.shop
    async with console.logged_in("manager") as client:
        rule = {
            "code": "wed",
            "name": "周三会员日",
            "kind": "member_day",
            "priority": "5",
            "stacking": "stack",
            "p-weekdays": "3",
            "p-multiplier_pct": "2",
            "_csrf_token": csrf_of(client),
        }
        base = {"code": "base", "name": "每元 1 分", "kind": "base_rate", "priority": "0", "stacking": "stack"}
        base |= {"p-points": "1", "p-per_amount": "1.00", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/loyalty/rules", data=base)).status_code == 303
        added = await client.post("/console/loyalty/rules", data=rule)
        assert added.status_code == 303
        page = await client.get(added.headers["location"])
        assert "已添加规则" in page.text and "周三会员日" in page.text
        bad = await client.post("/console/loyalty/rules", data={**rule, "code": "x", "p-multiplier_pct": "两倍"})
        assert bad.status_code == 422 and "请填写倍数，如 2 或 1.5" in bad.text and 'value="两倍"' in bad.text
        simulated = await client.post(
            "/console/loyalty/simulate",
            data={"member": "13812345678", "amount": "100", "day": "2026-11-25", "_csrf_token": csrf_of(client)},
        )
        text = text_of(simulated.text)
        assert simulated.status_code == 200 and "+100" in text and "会员日 ×2" in text and "合计 200" in text
        unconfirmed = await client.post("/console/loyalty/rules/wed/retire", data={"_csrf_token": csrf_of(client)})
        assert unconfirmed.status_code == 422 and "请先确认" in unconfirmed.text
        retired = await client.post(
            "/console/loyalty/rules/wed/retire", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert retired.status_code == 303
        editing = (await client.get("/console/loyalty/rules", params={"edit": "wed"})).text
        assert "修改规则 “周三会员日”" in editing and 'value="周三会员日"' in editing and 'name="code"' not in editing
        changed = await client.post(
            "/console/loyalty/rules/wed",
            data={**rule, "min_spend": "50", "p-weekdays": ["3", "6"], "p-multiplier_pct": "3"},
        )
        assert changed.status_code == 303
        assert "规则已修改" in (await client.get(changed.headers["location"])).text
        again = (await client.get("/console/loyalty/rules", params={"edit": "wed"})).text
        assert 'name="min_spend" value="50.00"' in again  # shown as typed, in yuan
        unknown = await client.get("/console/loyalty/rules", params={"edit": "nope"})
        assert unknown.status_code == 404
    rules = {r["code"]: r for r in await list_rules(shop.program.id, include_retired=True)}
    assert rules["base"]["active"] and rules["wed"]["active"]  # changing a retired rule brings it back
    assert rules["wed"]["params"]["weekdays"] == [3, 6] and rules["wed"]["min_spend"] == 5_000


async def test_tiers_plans_and_policy_are_saved_from_the_console_and_checked_first(console):
    shop = console.shop
    async with console.logged_in("manager") as client:
        tiers = {"tiers": [{"code": "gold", "name": "金卡", "threshold": 1000}], "policy": {"grace_days": 30}}
        saved = await client.post(
            "/console/loyalty/tiers/json", data={"text": json.dumps(tiers), "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303
        shown = (await client.get(saved.headers["location"])).text
        assert 'value="金卡"' in shown and 'name="policy-grace_days" value="30"' in shown and "设置已保存" in shown
        assert "设置已保存" not in text_of((await client.get("/console/loyalty/tiers?done=xyz")).text)
        broken = await client.post("/console/loyalty/tiers/json", data={"text": "{", "_csrf_token": csrf_of(client)})
        assert broken.status_code == 422 and "第 1 行" in broken.text
        for text in ('{"policy": {"metric": "spend"}}', '{"tiers": 5}', '{"tiers": [5]}'):  # would drop every tier
            wrong = await client.post(
                "/console/loyalty/tiers/json", data={"text": text, "_csrf_token": csrf_of(client)}
            )
            assert wrong.status_code == 422 and "等级无效" in wrong.text, text
        assert 'value="金卡"' in (await client.get("/console/loyalty/tiers")).text
        plans = [{"code": "prime", "name": "年卡", "tier": "diamond", "fee": 19900, "days": 365}]
        refused = await client.post(
            "/console/loyalty/paid-plans/json", data={"text": json.dumps(plans), "_csrf_token": csrf_of(client)}
        )
        assert refused.status_code == 422 and "diamond" in refused.text
        plans[0]["tier"] = "gold"
        ok = await client.post(
            "/console/loyalty/paid-plans/json", data={"text": json.dumps(plans), "_csrf_token": csrf_of(client)}
        )
        assert ok.status_code == 303
        top_ups = [{"code": "100-20", "name": "充100送20", "pay": 10000, "bonus": 2000}]
        ok = await client.post(
            "/console/loyalty/top-up-plans/json", data={"text": json.dumps(top_ups), "_csrf_token": csrf_of(client)}
        )
        assert ok.status_code == 303
        policy = {"pending_days": "7", "expiry": "end_of_year", "expiry_months": "12", "warn_days": "30"}
        ok = await client.post("/console/loyalty/policy", data={**policy, "_csrf_token": csrf_of(client)})
        assert ok.status_code == 303
        wrong = await client.post(
            "/console/loyalty/policy", data={**policy, "expiry": "days_after", "_csrf_token": csrf_of(client)}
        )
        assert wrong.status_code == 422 and "“积分有效期”为“获得后 N 天过期”时必填" in text_of(wrong.text)
    from membership.org import service as org

    org._programs.clear()
    program = await get_program(shop.program.id)
    assert tier_config(program.settings).policy.grace_days == 30
    assert program.settings["paid_plans"][0]["tier"] == "gold" and program.settings["top_up_plans"][0]["bonus"] == 2000
    assert program.settings["points_policy"]["pending_days"] == 7


async def test_coupons_are_defined_issued_and_used_at_the_counter(console):
    shop = console.shop
    template = {
        "code": "ten-off",
        "name": "减10元",
        "kind": "amount_off",
        "amount_off": 1000,
        "valid_days": 30,
        "per_member_limit": 1,
    }
    async with console.logged_in("manager") as client:
        added = await client.post(
            "/console/loyalty/coupons/json", data={"text": json.dumps(template), "_csrf_token": csrf_of(client)}
        )
        assert added.status_code == 303
        issued = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten-off", "members": "13812345678", "_csrf_token": csrf_of(client)},
        )
        assert issued.status_code == 303
        notice = text_of((await client.get(issued.headers["location"])).text)
        assert "已发 1 张券；跳过 0 位会员" in notice
        again = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten-off", "members": "13812345678", "_csrf_token": csrf_of(client)},
        )
        assert "已发 0 张券；跳过 1 位会员" in text_of((await client.get(again.headers["location"])).text)
        nobody = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten-off", "members": "13900000000", "_csrf_token": csrf_of(client)},
        )
        assert nobody.status_code == 422 and "第 1 行 “13900000000”：找不到会员" in text_of(nobody.text)
        page = text_of((await client.get("/console/loyalty/coupons")).text)
        assert "减10元" in page and "0.0%" in page
        assert "减10元 满减券 立减¥10.00 手动发放" in page  # kind and trigger by name, not amount_off / manual
        [coupon], _ = await coupons.member_coupons(shop.member_id)
        code = coupon["code"]
        sale = await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)], coupons=[code]
        )
        assert sale.total == 9_000  # the counter's own tests drive the sale through its page
        member_page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
        assert code in member_page and "已使用" in member_page
        editor = (await client.get("/console/loyalty/coupons", params={"edit": "ten-off"})).text
        assert "修改券模板 “减10元”" in editor and "&#34;amount_off&#34;: 1000" in editor
        shown = json.loads(html.unescape(editor.split('name="text"')[1].split(">", 1)[1].split("</textarea>")[0]))
        terms = {**shown, "amount_off": 1500}  # what the editor shows goes back as it is, but for the amount
        changed = await client.post(
            "/console/loyalty/coupons/templates/ten-off/json",
            data={"text": json.dumps(terms), "_csrf_token": csrf_of(client)},
        )
        assert changed.status_code == 303 and "券模板已修改" in (await client.get(changed.headers["location"])).text
        assert (await coupons.get_template(shop.program.id, "ten-off"))["amount_off"] == 1500
        retired = await client.post(
            "/console/loyalty/coupons/templates/ten-off/retire", data={"confirm": "yes", "_csrf_token": csrf_of(client)}
        )
        assert "券模板已停用" in (await client.get(retired.headers["location"])).text
        assert (await coupons.get_template(shop.program.id, "ten-off"))["active"] is False


async def test_a_rule_s_conditions_are_ticked_and_filled_in_the_form_never_as_json(console):
    shop = console.shop
    async with console.logged_in("manager") as client:
        rule = {
            "code": "drinks",
            "name": "饮品双倍",
            "kind": "category_multiplier",
            "priority": "5",
            "stacking": "stack",
            "p-categories": "饮品",
            "p-multiplier_pct": "2",
            "c-label": "1",
            "c-label-none_of": "外送、团购",
            "c-min_quantity": "1",
            "c-min_quantity-quantity": "2",
            "_csrf_token": csrf_of(client),
        }
        form = (await client.get("/console/loyalty/rules", params={"kind": "category_multiplier"})).text
        assert "适用条件" in form and 'name="c-label"' in form and "最低件数" in form and "活动码" in form
        empty = await client.post("/console/loyalty/rules", data={**rule, "c-label-none_of": ""})
        assert empty.status_code == 422 and "请填写“包含其一”“不包含”或两者" in empty.text
        assert 'name="c-min_quantity" value="1" checked' in empty.text  # shown again as ticked
        few = await client.post("/console/loyalty/rules", data={**rule, "c-min_quantity-quantity": "零"})
        assert few.status_code == 422 and 'value="零"' in few.text
        assert (await client.post("/console/loyalty/rules", data=rule)).status_code == 303
        stored = {r["code"]: r for r in await list_rules(shop.program.id)}["drinks"]
        assert stored["conditions"] == [
            {"kind": "label", "any_of": [], "none_of": ["外送", "团购"]},
            {"kind": "min_quantity", "quantity": 2},
        ]
        editing = (await client.get("/console/loyalty/rules", params={"edit": "drinks"})).text
        assert 'name="c-label" value="1" checked' in editing and 'value="外送、团购"' in editing
        untick = {k: v for k, v in rule.items() if k != "c-min_quantity"}
        assert (await client.post("/console/loyalty/rules/drinks", data=untick)).status_code == 303
        stored = {r["code"]: r for r in await list_rules(shop.program.id)}["drinks"]
        assert [c["kind"] for c in stored["conditions"]] == ["label"]

    two = [
        {"kind": "category", "any_of": ["饮品"], "none_of": []},
        {"kind": "category", "any_of": [], "none_of": ["酒"]},
    ]
    through_the_api = {key: stored[key] for key in PointsRule.__struct_fields__ if key in stored}
    await change_rule(shop.program.id, "drinks", {**through_the_api, "conditions": two}, "api")
    async with console.logged_in("manager") as client:
        editing = (await client.get("/console/loyalty/rules", params={"edit": "drinks"})).text
        assert "由系统接口设置" in editing and 'name="c-keep"' in editing and 'name="c-category"' not in editing
        kept = {**rule, "c-keep": "1", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/loyalty/rules/drinks", data=kept)).status_code == 303
    stored = {r["code"]: r for r in await list_rules(shop.program.id)}["drinks"]
    assert stored["conditions"] == two  # kept as they were
