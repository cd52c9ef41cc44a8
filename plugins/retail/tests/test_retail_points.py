"""Points by brand, category and SKU with exclusions: extra points per yuan of the matching lines'
share of what earns, on top of the program's own rules; the brand and category from the
catalogue when the till sends only the SKU; dates inclusive; off where the pack is off."""

from __future__ import annotations

import datetime as dt

import pytest

from membership.plugin import LineInput, ValidationError
from membership.sales import service as sales
from membership.testing import make_member, make_program, make_sale
from membership_retail import catalogue, earning
from membership_retail.catalogue import Product

MILK = LineInput("6901", 1, 10_000, "伊利纯牛奶")  # the till sends no brand: the catalogue knows it
YOGURT = LineInput("6902", 1, 5_000, "伊利酸奶", "乳品", "伊利")
SPECIAL = LineInput("6903", 1, 3_000, "伊利特价奶", "乳品", "伊利")
RICE = LineInput("7001", 1, 2_000, "大米", "粮油", "金龙鱼")


async def _buy(retail, lines, **options):
    shop = retail.shop
    return await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, lines, **options)


async def test_brand_points_with_an_excluded_sku_on_top_of_the_base_points(retail):
    await catalogue.import_products(retail.program.id, [Product("6901", "伊利纯牛奶", "乳品", "伊利")])
    await earning.create_rule(
        retail.program.id, {"name": "伊利双倍", "points_per_yuan": 1, "brands": ["伊利"], "exclude_skus": ["6903"]}
    )
    sale = await _buy(retail, [MILK, YOGURT, SPECIAL, RICE])
    rules = {award.rule: award.points for award in sale.awards}
    assert rules == {"base": 200, "retail:伊利双倍": 150}  # 100 + 50 yuan of 伊利, not the special offer
    assert "每元加送 1 积分" in next(a.reason for a in sale.awards if a.rule == "retail:伊利双倍")


async def test_the_share_follows_what_earns_after_coupons_and_points_paid(retail):
    await earning.create_rule(retail.program.id, {"name": "粮油三倍", "points_per_yuan": 2, "categories": ["粮油"]})
    simulation = await sales.simulate_purchase(
        retail.program.id,
        retail.shop.store_id,
        retail.shop.member_id,
        [RICE, RICE],
        [sales.PaymentInput("cash", 2_000), sales.PaymentInput("card", 2_000)],
    )
    assert {a.rule: a.points for a in simulation.awards}["retail:粮油三倍"] == 80


async def test_a_rule_with_no_list_takes_every_line_but_its_exclusions_and_keeps_its_dates(retail):
    today = dt.datetime.now(retail.program.zone).date()
    await earning.create_rule(
        retail.program.id,
        {"name": "全场加送", "points_per_yuan": 1, "exclude_categories": ["粮油"], "ends_on": today.isoformat()},
    )
    await earning.create_rule(
        retail.program.id,
        {"name": "下月活动", "points_per_yuan": 5, "starts_on": (today + dt.timedelta(days=40)).isoformat()},
    )
    sale = await _buy(retail, [YOGURT, RICE])
    assert {a.rule: a.points for a in sale.awards} == {"base": 70, "retail:全场加送": 50}
    later = await sales.simulate_purchase(
        retail.program.id,
        retail.shop.store_id,
        retail.shop.member_id,
        [YOGURT],
        occurred_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=45),
    )
    assert {a.rule: a.points for a in later.awards} == {"base": 50, "retail:下月活动": 250}


async def test_rules_are_checked_switched_and_removed(retail):
    program_id = retail.program.id
    for bad in (
        {"name": "", "points_per_yuan": 1},
        {"name": "x", "points_per_yuan": 0},
        {"name": "x", "points_per_yuan": 1, "starts_on": "2026-12-31", "ends_on": "2026-01-01"},
        {"name": "x", "points_per_yuan": 1, "brands": ["a" * 65]},
    ):
        with pytest.raises(ValidationError):
            await earning.create_rule(program_id, bad)
    rule = await earning.create_rule(program_id, {"name": "伊利", "points_per_yuan": 1, "brands": "伊利，蒙牛\n光明"})
    assert rule.brands == ("伊利", "蒙牛", "光明")
    await earning.set_rule_active(program_id, rule.id, False)
    assert (await _buy(retail, [YOGURT])).points_earned == 50
    await earning.set_rule_active(program_id, rule.id, True)
    assert (await _buy(retail, [YOGURT])).points_earned == 100
    await earning.remove_rule(program_id, rule.id)
    assert await earning.points_rules(program_id) == []


async def test_no_extra_points_where_the_pack_is_off(retail):
    await earning.create_rule(retail.program.id, {"name": "全场", "points_per_yuan": 1})
    other = await make_program(retail.shop.merchant_id, "另一个会员方案")
    sale = await make_sale(other.id, retail.shop.store_id, await make_member(other.id), 5_000)
    assert sale.points_earned == 50


async def test_points_rules_through_the_api(retail, retail_api):
    admin = await retail_api("admin")
    body = {"name": "母婴加送", "points_per_yuan": 2, "categories": ["母婴"], "exclude_brands": ["好奇"]}
    made = await admin.post("/retail/points-rules", json=body)
    assert made.status_code == 201, made.text
    listed = (await admin.get("/retail/points-rules")).json()
    assert [(r["name"], r["categories"], r["exclude_brands"]) for r in listed] == [("母婴加送", ["母婴"], ["好奇"])]
