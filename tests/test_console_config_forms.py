"""Loyalty configuration in generated forms, on SQLite and PostgreSQL: amounts typed in yuan and
discounts as 折 are stored in fen and percent; a bad value is refused beside its field, in
Chinese, as typed; doubtful changes (thresholds out of order, a rule that can never earn, a
coupon worth its minimum spend) are shown back with warnings until saved anyway; coupons are
issued to the lines that name a member (the others reported and kept) or to a tier."""

from __future__ import annotations

import re

from membership.coupons import service as coupons
from membership.crm import segments
from membership.db import fetch
from membership.ledger import points_rules
from membership.ledger.points_rules import list_rules
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org import service as org
from membership.sales import service as sales
from membership.tiers.policy import paid_plans, tier_config
from tests.console_client import csrf_of, text_of


def _field_error(page: str, name: str) -> str:
    """The error shown beside the input named ``name`` (a generated field or a table cell)."""
    at = page.index(f'name="{name}"')
    cell = re.split(r"</td>|</div>", page[at:], maxsplit=1)[0]
    error = re.search(r'class="field-error"[^>]*>(.*?)</span>', cell, re.S)
    return error[1] if error else ""


async def _program(shop):
    org._programs.clear()
    return await org.get_program(shop.program.id)


TIERS = {
    "policy-metric": "spend",
    "policy-window_days": "365",
    "policy-period_days": "365",
    "policy-grace_days": "30",
    "policy-downgrade": "one_down",
    "tiers-0-code": "silver",
    "tiers-0-name": "银卡",
    "tiers-0-threshold": "1,000",
    "tiers-0-points_multiplier_pct": "1.2",
    "tiers-0-discount_pct": "98",
    "tiers-1-code": "gold",
    "tiers-1-name": "金卡",
    "tiers-1-threshold": "5000.50",
    "tiers-1-points_multiplier_pct": "1.5",
    "tiers-1-discount_pct": "9.5",
    "tiers-1-free_items": "停车券、生日蛋糕",
}


async def test_tiers_are_typed_in_yuan_and_zhe_and_a_tier_out_of_order_is_warned_of(any_console):
    shop = any_console.shop
    async with any_console.logged_in("owner") as client:
        saved = await client.post("/console/loyalty/tiers", data={**TIERS, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303, text_of(saved.text)
        config = tier_config((await _program(shop)).settings)
        silver, gold = config.tiers
        assert (silver.threshold, silver.points_multiplier_pct, silver.discount_pct) == (100_000, 120, 2)
        assert (gold.threshold, gold.discount_pct, gold.free_items) == (500_050, 5, ["停车券", "生日蛋糕"])
        assert config.policy.metric == "spend" and config.policy.grace_days == 30
        page = (await client.get(saved.headers["location"])).text
        assert 'name="tiers-0-threshold" value="1000.00"' in page and 'name="tiers-1-discount_pct" value="95"' in page
        assert "门槛 （元）" in text_of(page) and "设置已保存" in page

        # a silver tier typed with 99,999 (meant 999.99) would rank above gold: warned, nothing saved
        typo = {**TIERS, "tiers-0-threshold": "99999", "_csrf_token": csrf_of(client)}
        warned = await client.post("/console/loyalty/tiers", data=typo)
        assert warned.status_code == 200 and "保存前请核对" in warned.text
        assert "“银卡”排在“金卡”前面，门槛（¥99,999.00）却比它高（¥5,000.50）" in text_of(warned.text)
        assert 'name="tiers-0-threshold" value="99999"' in warned.text  # kept as typed
        assert tier_config((await _program(shop)).settings).tiers[0].threshold == 100_000
        anyway = await client.post("/console/loyalty/tiers", data={**typo, "anyway": "1"})
        assert anyway.status_code == 303
        assert [t.code for t in tier_config((await _program(shop)).settings).tiers] == ["gold", "silver"]

        # a higher tier giving less is warned of too; bad values go beside their cell, in Chinese
        less = {**TIERS, "tiers-1-discount_pct": "99", "_csrf_token": csrf_of(client)}
        assert "折扣（99折）却不如“银卡”（98折）" in text_of(
            (await client.post("/console/loyalty/tiers", data=less)).text
        )
        bad = {**TIERS, "tiers-0-threshold": "10.001", "tiers-1-discount_pct": "九五", "tiers-1-code": "金 卡"}
        refused = await client.post("/console/loyalty/tiers", data={**bad, "_csrf_token": csrf_of(client)})
        assert refused.status_code == 422 and "请修改标出的项目" in refused.text
        assert _field_error(refused.text, "tiers-0-threshold") == "应为 ≥ 0 的金额，最多 2 位小数"
        assert "请按“折”填写" in _field_error(refused.text, "tiers-1-discount_pct")
        assert 'value="九五"' in refused.text and 'value="10.001"' in refused.text

        # a row is added without saving; a row ticked for removal goes
        more = await client.post("/console/loyalty/tiers", data={**TIERS, "more": "1", "_csrf_token": csrf_of(client)})
        assert more.status_code == 200 and 'name="tiers-3-code"' in more.text
        removed = {**TIERS, "tiers-1-remove": "1", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/loyalty/tiers", data=removed)).status_code == 303
        assert [t.code for t in tier_config((await _program(shop)).settings).tiers] == ["silver"]


async def test_paid_and_top_up_plans_are_typed_in_yuan_and_checked(any_console):
    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        tiers = {**TIERS, "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/loyalty/tiers", data=tiers)).status_code == 303
        plan = {"plans-0-code": "year", "plans-0-name": "年卡", "plans-0-tier": "gold", "plans-0-fee": "199"}
        missing = await client.post("/console/loyalty/paid-plans", data={**plan, "_csrf_token": csrf_of(client)})
        assert missing.status_code == 422 and _field_error(missing.text, "plans-0-days") == "必填"
        saved = await client.post(
            "/console/loyalty/paid-plans", data={**plan, "plans-0-days": "365", "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303
        assert paid_plans((await _program(shop)).settings)[0].fee == 19_900
        page = (await client.get("/console/loyalty/paid-plans")).text
        assert '<option value="gold" selected>金卡</option>' in page and 'value="199.00"' in page

        top_up = {"plans-0-code": "100-150", "plans-0-name": "充100送150", "plans-0-pay": "100", "plans-0-bonus": "150"}
        warned = await client.post("/console/loyalty/top-up-plans", data={**top_up, "_csrf_token": csrf_of(client)})
        assert warned.status_code == 200 and "“充100送150”赠送的金额比充值金额还多" in text_of(warned.text)
        assert "top_up_plans" not in (await _program(shop)).settings
        dated = {**top_up, "plans-0-bonus": "20", "plans-0-starts_on": "2030-01-02", "plans-0-ends_on": "2030-01-01"}
        refused = await client.post("/console/loyalty/top-up-plans", data={**dated, "_csrf_token": csrf_of(client)})
        assert refused.status_code == 422 and "结束日期早于开始日期" in text_of(refused.text)
        dated["plans-0-ends_on"] = "2030-12-31"
        ok = await client.post("/console/loyalty/top-up-plans", data={**dated, "_csrf_token": csrf_of(client)})
        assert ok.status_code == 303
        [stored] = (await _program(shop)).settings["top_up_plans"]
        assert stored == {
            "code": "100-150",
            "name": "充100送150",
            "pay": 10_000,
            "bonus": 2_000,
            "starts_on": "2030-01-02",
            "ends_on": "2030-12-31",
        }
        page = (await client.get("/console/loyalty/top-up-plans")).text
        assert 'type="date" name="plans-0-starts_on" value="2030-01-02"' in page
        assert "\\u" not in page and "充100送150" in page  # the JSON view keeps Chinese as it is


async def test_rules_of_every_kind_are_added_in_their_forms(any_console):
    shop = any_console.shop
    forms = {
        "base_rate": {"p-points": "1", "p-per_amount": "1"},
        "category_multiplier": {"p-categories": "生鲜、酒水", "p-multiplier_pct": "2"},
        "sku_multiplier": {"p-skus": "6901, 6902", "p-multiplier_pct": "3"},
        "member_day": {"p-weekdays": ["3", "6"], "p-days_of_month": "8, 18", "p-multiplier_pct": "2"},
        "birthday": {"p-window": "month", "p-gift_points": "100"},
        "sign_up": {"p-points": "100"},
        "first_purchase": {"p-points": "50"},
        "referral": {"p-referrer_points": "200", "p-referee_points": "50"},
        "daily_sign_in": {"p-points": "5", "p-streak_days": "7", "p-streak_bonus": "30"},
        "cap": {"p-per_day": "10000"},
        "multiplier": {"p-multiplier_pct": "0.5"},
        "points_per_item": {"p-points": "2", "p-per": "line"},
        "points_per_order": {"p-points": "10"},
    }
    async with any_console.logged_in("manager") as client:
        for kind, params in forms.items():
            page = await client.get("/console/loyalty/rules", params={"kind": kind})
            for name in params:
                assert f'name="{name}"' in page.text, (kind, name)
            data = {"code": kind.replace("_", "-"), "name": f"规则 {kind}", "kind": kind, "priority": "0"}
            added = await client.post(
                "/console/loyalty/rules", data={**data, **params, "anyway": "1", "_csrf_token": csrf_of(client)}
            )
            assert added.status_code == 303, (kind, text_of(added.text)[-600:])
        rules = {rule["code"]: rule for rule in await list_rules(shop.program.id)}
        assert rules["base-rate"]["params"] == {"points": 1, "per_amount": 100}
        assert rules["category-multiplier"]["params"] == {"categories": ["生鲜", "酒水"], "multiplier_pct": 200}
        assert rules["member-day"]["params"]["weekdays"] == [3, 6]
        assert rules["member-day"]["params"]["days_of_month"] == [8, 18]
        assert rules["birthday"]["params"] == {"window": "month", "multiplier_pct": None, "gift_points": 100}
        assert rules["cap"]["params"] == {"per_transaction": None, "per_day": 10_000}
        assert rules["multiplier"]["params"] == {"multiplier_pct": 50}
        assert rules["points-per-item"]["params"] == {"points": 2, "per": "line"}
        listing = text_of((await client.get("/console/loyalty/rules")).text)
        assert "品类：生鲜、酒水；倍数：2 倍" in listing and "每周几：周三、周六" in listing
        assert "按什么送：每种商品" in listing and "\\u751f" not in listing

        # conditions set through the API show ticked in the form and stay when it is posted back as
        # shown, the rest changed; stop is in the form
        conditions = [{"kind": "category", "any_of": ["生鲜"]}]
        await points_rules.change_rule(
            shop.program.id,
            "points-per-order",
            {"kind": "points_per_order", "name": "每单", "params": {"points": 10}, "conditions": conditions},
        )
        shown = (await client.get("/console/loyalty/rules", params={"edit": "points-per-order"})).text
        assert 'name="c-category" value="1" checked' in shown and 'value="生鲜"' in shown
        form = {"name": "每单送 20", "kind": "points_per_order", "priority": "0", "p-points": "20", "stop": "1"}
        form |= {"c-category": "1", "c-category-any_of": "生鲜"}
        changed = await client.post(
            "/console/loyalty/rules/points-per-order", data={**form, "_csrf_token": csrf_of(client)}
        )
        assert changed.status_code == 303
        rule = await points_rules.get_rule(shop.program.id, "points-per-order")
        assert rule["conditions"][0]["any_of"] == ["生鲜"] and rule["stop"] is True and rule["params"] == {"points": 20}


async def test_a_rule_that_can_never_earn_is_warned_of_and_errors_name_the_field(any_console):
    shop = any_console.shop
    await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [LineInput("6901", 1, 1_000, category="饮品")]
    )
    async with any_console.logged_in("manager") as client:
        day = {"name": "会员日", "kind": "member_day", "priority": "0", "p-multiplier_pct": "2"}
        # 2 March 2099 is a Monday: a Wednesday rule that runs that day only never earns
        short = {**day, "code": "mon", "p-weekdays": "3", "starts_on": "2099-03-02", "ends_on": "2099-03-02"}
        warned = await client.post("/console/loyalty/rules", data={**short, "_csrf_token": csrf_of(client)})
        assert warned.status_code == 200 and "有效期内没有一天是所选的会员日" in text_of(warned.text)
        assert await list_rules(shop.program.id) == []
        ended = {**day, "code": "old", "p-weekdays": "3", "ends_on": "2020-01-01"}
        text = text_of(
            (await client.post("/console/loyalty/rules", data={**ended, "_csrf_token": csrf_of(client)})).text
        )
        assert "结束日期 2020-01-01 已过" in text
        fruit = {"code": "fruit", "name": "水果加倍", "kind": "category_multiplier", "p-categories": "水果"}
        fruit |= {"p-multiplier_pct": "2", "priority": "0", "_csrf_token": csrf_of(client)}
        text = text_of((await client.post("/console/loyalty/rules", data=fruit)).text)
        assert "最近 180 天的消费中没有这些品类：水果" in text
        assert (await client.post("/console/loyalty/rules", data={**fruit, "anyway": "1"})).status_code == 303

        # an exclusive base rule above another hides it
        base = {"kind": "base_rate", "p-points": "1", "p-per_amount": "1", "_csrf_token": csrf_of(client)}
        alone = {**base, "code": "alone", "name": "独享基础", "stacking": "exclusive", "priority": "10"}
        assert (await client.post("/console/loyalty/rules", data=alone)).status_code == 303
        hidden = {**base, "code": "second", "name": "第二条基础", "priority": "1"}
        text = text_of((await client.post("/console/loyalty/rules", data=hidden)).text)
        assert "“独享基础”独享、总会生效且优先级更高：这条规则永远不会被用到" in text

        # errors beside their fields, in Chinese, never the English key
        wrong = {**day, "code": "x", "p-multiplier_pct": "1", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/loyalty/rules", data=wrong)
        assert refused.status_code == 422
        assert _field_error(refused.text, "p-multiplier_pct") == "不能少于 1.01 倍"
        none_given = {**day, "code": "y", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/loyalty/rules", data=none_given)
        assert refused.status_code == 422
        assert "请给出“每周几”、“每月几号”或“指定日期”" in text_of(refused.text)
        assert "weekdays" not in text_of(refused.text).split("高级")[0]
        taken = {**day, "code": "fruit", "p-weekdays": "3", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/loyalty/rules", data=taken)
        assert refused.status_code == 422 and "已存在" in _field_error(refused.text, "code")


async def test_coupon_templates_are_typed_in_yuan_and_zhe_and_warned_of(any_console):
    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        page = (await client.get("/console/loyalty/coupons", params={"kind": "percent_off"})).text
        assert 'name="percent_off"' in page and 'name="amount_off"' not in page and "折" in text_of(page)
        eight = {"code": "eight", "name": "八折券", "kind": "percent_off", "percent_off": "8", "valid_days": "30"}
        eight |= {"store_ids": str(shop.store_id), "_csrf_token": csrf_of(client)}
        warned = await client.post("/console/loyalty/coupons", data={**eight, "percent_off": "4"})
        assert warned.status_code == 200 and "4折且没有“最多减免”" in text_of(warned.text)
        assert (await client.post("/console/loyalty/coupons", data=eight)).status_code == 303
        template = await coupons.get_template(shop.program.id, "eight")
        assert template["percent_off"] == 20 and template["store_ids"] == [shop.store_id]

        free = {"code": "free", "name": "满10减10", "kind": "amount_off", "amount_off": "10", "min_spend": "10"}
        free |= {"valid_until": "2099-12-31", "_csrf_token": csrf_of(client)}
        warned = await client.post("/console/loyalty/coupons", data=free)
        assert "满¥10.00减¥10.00：减免不低于门槛" in text_of(warned.text)
        past = {**free, "valid_until": "2020-01-01", "anyway": "1"}
        refused = await client.post("/console/loyalty/coupons", data=past)
        assert refused.status_code == 422 and "已过期" in _field_error(refused.text, "valid_until")
        endless = {**free, "valid_until": "", "anyway": "1"}
        refused = await client.post("/console/loyalty/coupons", data=endless)
        assert refused.status_code == 422 and "请给出“截止日期”或“有效天数”" in text_of(refused.text)

        listing = text_of((await client.get("/console/loyalty/coupons")).text)
        assert "八折券 折扣券 8折" in listing
        edit = (await client.get("/console/loyalty/coupons", params={"edit": "eight"})).text
        assert 'name="percent_off" value="8"' in edit and 'name="code"' not in edit
        changed = await client.post(
            "/console/loyalty/coupons/templates/eight",
            data={**{k: v for k, v in eight.items() if k != "code"}, "percent_off": "85", "max_off": "50"},
        )
        assert changed.status_code == 303
        template = await coupons.get_template(shop.program.id, "eight")
        assert (template["percent_off"], template["max_off"]) == (15, 5_000)


async def test_a_batch_issue_reports_bad_lines_issues_the_rest_and_can_go_to_a_tier(any_console):
    shop = any_console.shop
    program = shop.program
    li = await members.enrol(program.id, {"name": "李娜", "phone": "13900000001"})
    await members.enrol(program.id, {"name": "李娜", "phone": "13900000002"})  # a second 李娜
    async with any_console.logged_in("manager") as client:
        ten = {"code": "ten", "name": "减10元", "kind": "amount_off", "amount_off": "10", "valid_days": "30"}
        assert (
            await client.post("/console/loyalty/coupons", data={**ten, "_csrf_token": csrf_of(client)})
        ).status_code == 303
        lines = "13812345678\n13700000000\n李娜\n" + li.member_no
        answer = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten", "to": "members", "members": lines, "_csrf_token": csrf_of(client)},
        )
        text = text_of(answer.text)
        assert answer.status_code == 200 and "已发 2 张券；跳过 0 位会员" in text
        assert "第 2 行 “13700000000”：找不到会员" in text and "第 3 行 “李娜”：有 2 位会员符合" in text
        kept = re.search(r'<textarea name="members"[^>]*>(.*?)</textarea>', answer.text, re.S)[1]
        assert kept.split("\n") == ["13700000000", "李娜"]  # only the lines that got nothing stay in the form
        assert '<option value="ten" selected>' in answer.text
        assert (await coupons.member_coupons(li.id))[1] == 1 and (await coupons.member_coupons(shop.member_id))[1] == 1

        await client.post("/console/loyalty/tiers", data={**TIERS, "_csrf_token": csrf_of(client)})
        await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", li.id)
        to_tier = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten", "to": "tier", "tier": "gold", "_csrf_token": csrf_of(client)},
        )
        assert to_tier.status_code == 303 and "issued=1" in to_tier.headers["location"]
        assert (await coupons.member_coupons(li.id))[1] == 2
        empty = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten", "to": "tier", "tier": "silver", "_csrf_token": csrf_of(client)},
        )
        assert empty.status_code == 422 and "该等级下没有会员" in empty.text

        await segments.create_segment(program.id, "vip", "重点客户", "static", {}, "test")
        await segments.upload_members(program.id, "vip", [li.member_no, "13812345678"], False, "test")
        page = (await client.get("/console/loyalty/coupons")).text
        assert '<option value="vip" >重点客户</option>' in page or ">重点客户</option>" in page
        to_segment = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten", "to": "segment", "segment": "vip", "_csrf_token": csrf_of(client)},
        )
        assert to_segment.status_code == 303 and "issued=2" in to_segment.headers["location"]
        assert (await coupons.member_coupons(li.id))[1] == 3
        unknown = await client.post(
            "/console/loyalty/coupons/issue",
            data={"template": "ten", "to": "segment", "segment": "nope", "_csrf_token": csrf_of(client)},
        )
        assert unknown.status_code == 422 and "nope" in unknown.text


async def test_the_points_policy_form_warns_of_points_that_expire_before_they_can_be_spent(any_console):
    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        policy = {"pending_days": "30", "expiry": "days_after", "expiry_days": "20", "expiry_months": "12"}
        warned = await client.post("/console/loyalty/policy", data={**policy, "_csrf_token": csrf_of(client)})
        assert warned.status_code == 200 and "会员根本用不上" in text_of(warned.text)
        assert "points_policy" not in (await _program(shop)).settings
        saved = await client.post(
            "/console/loyalty/policy", data={**policy, "expiry_days": "365", "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303
        assert (await _program(shop)).settings["points_policy"]["expiry_days"] == 365
        bad = await client.post(
            "/console/loyalty/policy", data={**policy, "pending_days": "七天", "_csrf_token": csrf_of(client)}
        )
        assert bad.status_code == 422 and _field_error(bad.text, "pending_days") == "请填写整数，如 30"
