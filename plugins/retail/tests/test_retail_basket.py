"""购物篮分析: support, confidence and lift of categories bought together, counted set-based in the
database; by brand or product too; wholly refunded sales left out; the report and the API."""

from __future__ import annotations

import datetime as dt

import pytest

from membership.plugin import LineInput, ValidationError
from membership.plugins import hooks
from membership.sales import service as sales
from membership.testing import make_member
from membership_retail import basket, catalogue
from membership_retail.catalogue import Product

BEER = LineInput("6901", 1, 6_900, "青岛啤酒")  # category and brand from the catalogue
CHIPS = LineInput("6924", 2, 990, "乐事薯片", "零食", "乐事")
NUTS = LineInput("6970", 1, 12_900, "每日坚果", "零食", "三只松鼠")
RICE = LineInput("7001", 1, 3_990, "大米", "粮油", "金龙鱼")


async def _baskets(retail):
    """10 sales: beer with snacks 4 times (once with two snacks), beer alone twice, snacks alone
    twice, rice alone twice; plus one refunded beer-and-snacks sale."""
    await catalogue.import_products(retail.program.id, [Product("6901", "青岛啤酒", "酒水", "青岛啤酒")])
    member, store = retail.shop.member_id, retail.shop.store_id
    other = await make_member(retail.program.id, "李娜")
    for lines in [[BEER, CHIPS]] * 3 + [[BEER, CHIPS, NUTS]] + [[BEER]] * 2 + [[CHIPS]] * 2 + [[RICE]] * 2:
        await sales.record_purchase(retail.program.id, store, member, lines)
    refunded = await sales.record_purchase(retail.program.id, store, other, [BEER, CHIPS])
    await sales.refund(refunded.id)


async def test_support_confidence_and_lift_of_categories(retail):
    await _baskets(retail)
    found = await basket.basket_rules(retail.program, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), min_baskets=2)
    assert found.baskets == 10
    rows = {(r["antecedent"], r["consequent"]): r for r in basket.as_rows(found)}
    assert set(rows) == {("酒水", "零食"), ("零食", "酒水")}
    beer = rows["酒水", "零食"]
    # together 4 of 10; beer in 6, snacks in 6: confidence 4/6, lift 4×10/(6×6)
    assert (beer["baskets_together"], beer["support_pct"], beer["confidence_pct"], beer["lift"]) == (
        4,
        40.0,
        66.7,
        1.11,
    )


async def test_by_product_and_by_brand(retail):
    await _baskets(retail)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    by_sku = await basket.basket_rules(retail.program, now, level="sku", min_baskets=1)
    assert ("6970", "6901") in {(r.antecedent, r.consequent) for r in by_sku.rules}
    nuts = next(r for r in by_sku.rules if (r.antecedent, r.consequent) == ("6970", "6924"))
    assert (nuts.together, nuts.confidence, round(nuts.lift, 2)) == (1, 1.0, 1.67)
    by_brand = await basket.basket_rules(retail.program, now, level="brand", min_baskets=4)
    assert [(r.antecedent, r.consequent) for r in by_brand.rules] == [("乐事", "青岛啤酒"), ("青岛啤酒", "乐事")]
    with pytest.raises(ValidationError):
        await basket.basket_rules(retail.program, now, level="colour")


async def test_the_report_and_the_api(retail, retail_api):
    await _baskets(retail)
    report = hooks().reports()["retail_basket"]()
    result = await report.run(retail.program.id, {"min_baskets": "2"})
    assert result.columns[:3] == ["antecedent", "consequent", "baskets_together"]
    assert [row[:3] for row in result.rows] == [["酒水", "零食", 4], ["零食", "酒水", 4]]
    reader = await retail_api("read")
    answer = await reader.get("/retail/basket", params={"min_baskets": 2, "level": "category"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["baskets"] == 10 and answer.json()["rules"][0]["lift"] == 1.11
    assert (await reader.get("/retail/basket", params={"level": "colour"})).status_code == 422
