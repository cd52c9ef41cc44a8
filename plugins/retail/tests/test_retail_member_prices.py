"""会员价: per tier on SKUs (a price or a percent) and categories (a percent), the lowest wins; the
till's simulate and the sale agree; the sale keeps the listed and the member price; refunds give
back what was paid; off where the pack is off."""

from __future__ import annotations

import pytest

from membership.plugin import LineInput, ValidationError, fetch, fetch_one
from membership.sales import service as sales
from membership.testing import make_member, make_program, make_sale
from membership_retail import catalogue, member_prices
from membership_retail.catalogue import Product

MILK = LineInput("6907992500010", 2, 6_590, "伊利纯牛奶")  # the till sends the SKU only
APPLES = LineInput("2000000000011", 1, 1_590, "红富士苹果")
SOAP = LineInput("6902088703351", 1, 1_990, "立白洗洁精", "日化", "立白")


async def _catalogue(program_id):
    await catalogue.import_products(
        program_id,
        [Product("6907992500010", "伊利纯牛奶", "乳品", "伊利"), Product("2000000000011", "红富士苹果", "生鲜", "")],
    )


async def _gold_member(retail):
    """A member of a program with tiers, holding gold."""
    member = retail.shop.member_id
    await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", member)
    return member


async def test_the_lowest_member_price_of_a_line_applies_in_simulate_and_in_the_sale(retail):
    program = retail.program
    await _catalogue(program.id)
    await member_prices.set_member_price(program, "sku", MILK.sku, "", price=5_990)  # every member
    await member_prices.set_member_price(program, "category", "乳品", "gold", percent=90)  # gold: 10% off
    await member_prices.set_member_price(program, "category", "生鲜", "", percent=95)
    lines = [MILK, APPLES, SOAP]
    shop = retail.shop

    plain = await sales.simulate_purchase(program.id, shop.store_id, shop.member_id, lines)
    assert [(p.line_no, p.unit_price, p.member_price) for p in plain.member_prices] == [
        (1, 6_590, 5_990),
        (2, 1_590, 1_510),  # 95% of 15.90 is 15.105: rounded down to the fen
    ]
    assert plain.member_discount == 2 * 600 + 80 and plain.total == 2 * 5_990 + 1_510 + 1_990

    await _gold_member(retail)
    gold = await sales.simulate_purchase(program.id, shop.store_id, shop.member_id, lines)
    assert gold.member_prices[0].member_price == 5_931  # 90% of 65.90 beats the 59.90 of every member
    sale = await sales.record_purchase(program.id, shop.store_id, shop.member_id, lines)
    assert (sale.total, sale.member_discount, sale.points_earned) == (
        gold.total,
        gold.member_discount,
        gold.points_earned,
    )
    assert sale.points_earned == gold.total // 100
    stored = await fetch(
        "SELECT sku, unit_price, member_price, amount FROM sale_line WHERE sale_id = {} ORDER BY line_no", sale.id
    )
    assert stored == [
        {"sku": MILK.sku, "unit_price": 6_590, "member_price": 5_931, "amount": 11_862},
        {"sku": APPLES.sku, "unit_price": 1_590, "member_price": 1_510, "amount": 1_510},
        {"sku": SOAP.sku, "unit_price": 1_990, "member_price": None, "amount": 1_990},
    ]
    row = await fetch_one("SELECT subtotal, discount, member_discount, total FROM sale WHERE id = {}", sale.id)
    assert row == {"subtotal": 16_760, "discount": 1_398, "member_discount": 2 * 659 + 80, "total": 15_362}

    refund = await sales.refund(sale.id, {1: 1})  # one carton of milk back: what was paid for it
    assert refund.amount == 5_931


async def test_a_member_price_is_set_once_per_target_and_tier_and_checked(retail):
    program = retail.program
    first = await member_prices.set_member_price(program, "sku", "6901", "", price=900)
    again = await member_prices.set_member_price(program, "sku", "6901", "", percent=80)
    assert first.id == again.id and [(p.price, p.percent) for p in await member_prices.member_prices(program.id)] == [
        (None, 80)
    ]
    for scope, target, price, percent in (
        ("brand", "伊利", None, 90),
        ("category", "乳品", 1_000, None),  # a category takes a percent
        ("sku", "6901", 1_000, 90),  # not both
        ("sku", "6901", None, 100),
        ("sku", "", 1_000, None),
    ):
        with pytest.raises(ValidationError):
            await member_prices.set_member_price(program, scope, target, "", price, percent)
    await member_prices.remove_member_price(program.id, first.id)
    assert await member_prices.member_prices(program.id) == []


async def test_no_member_price_where_the_pack_is_off(retail):
    await member_prices.set_member_price(retail.program, "sku", "6901", "", price=500)
    on = await retail.shop.sale(1_000, sku="6901")
    assert on.total == 500 and on.member_discount == 500
    other = await make_program(retail.shop.merchant_id, "另一个会员方案")
    member = await make_member(other.id)
    off = await make_sale(other.id, retail.shop.store_id, member, 1_000, sku="6901")
    assert off.total == 1_000 and off.member_prices == ()


async def test_the_till_sees_member_prices_before_it_takes_payment(retail, retail_api):
    await member_prices.set_member_price(retail.program, "sku", "6901", "", price=800)
    till = await retail_api("pos")
    body = {
        "member_id": str(retail.shop.member_id),
        "store_id": str(retail.shop.store_id),
        "lines": [{"sku": "6901", "name": "牛奶", "quantity": 3, "unit_price": 1_000}],
    }
    simulated = await till.post("/transactions/simulate", json=body)
    assert simulated.status_code == 200, simulated.text
    answer = simulated.json()
    assert (answer["subtotal"], answer["discount"], answer["member_discount"], answer["total"]) == (
        3_000,
        600,
        600,
        2_400,
    )
    assert answer["member_prices"] == [{"line_no": 1, "unit_price": 1_000, "member_price": 800}]
    paid = {**body, "payments": [{"method": "card", "amount": answer["total"]}]}
    recorded = await till.post("/transactions", json=paid, headers={"Idempotency-Key": "till-1-0001"})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["total"] == 2_400 and recorded.json()["member_prices"] == answer["member_prices"]
    listed = {**body, "payments": [{"method": "card", "amount": 3_000}]}
    refused = await till.post("/transactions", json=listed, headers={"Idempotency-Key": "till-1-0002"})
    assert refused.status_code == 422 and "会员价优惠 600" in refused.json()["detail"]


async def test_member_prices_through_the_api(retail, retail_api):
    admin = await retail_api("admin")
    put = await admin.put("/retail/member-prices", json={"scope": "category", "target": "生鲜", "percent": 95})
    assert put.status_code == 200, put.text
    listed = (await (await retail_api("read")).get("/retail/member-prices")).json()
    assert [(p["scope"], p["target"], p["percent"]) for p in listed] == [("category", "生鲜", 95)]
    gone = await admin.delete(f"/retail/member-prices/{put.json()['id']}")
    assert gone.status_code == 204
    assert (await admin.delete(f"/retail/member-prices/{put.json()['id']}")).status_code == 404
