"""What the kernel gives industry packs beyond the hooks they started with: notes on the counter's
member panel (``membership_counter_notes``), a sale read with its lines (``get_sale``), a coupon
issued once per occasion of a plugin (``issue_coupon``) and a demo's till attributes
(``DemoProfile.attributes``)."""

from __future__ import annotations

import pytest

from membership import hookimpl
from membership.coupons import service as coupons
from membership.errors import CouponTemplateNotFound, CouponTemplateRetired, SaleNotFound
from membership.ledger.rules import LineInput
from membership.org.program_plugins import PluginMeta, set_program_plugin
from membership.plugin import get_sale, issue_coupon
from membership.sales import service as sales
from tests.helpers import make_shop


async def test_hook_counter_notes(console, register_plugin):
    from tests.console_client import text_of

    asked = []

    class Allergies:  # deployment-wide: asked for every program
        @hookimpl
        async def membership_counter_notes(self, program, member_id, language):
            asked.append((program.id, member_id, language))
            return ["过敏：花生" if language == "zh_CN" else "Allergies: peanuts", "<b>靠窗</b>"]

    class Stamps:  # per program, off for the shop's program: not asked
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("集点卡", "Stamp cards")

        @hookimpl
        def membership_counter_notes(self, program, member_id, language):
            return ["咖啡集点卡 7/10"]

    register_plugin(Allergies(), name="allergies")
    register_plugin(Stamps(), name="stamps")
    shop = console.shop
    async with console.logged_in("clerk") as client:
        page = await client.get(f"/console/counter/members/{shop.member_id}")
        assert page.status_code == 200, page.text
        assert 'class="counter-notes"' in page.text and "&lt;b&gt;靠窗&lt;/b&gt;" in page.text
        assert "过敏：花生" in text_of(page.text) and "集点卡" not in text_of(page.text)
        await set_program_plugin(shop.program.id, "stamps", True, {}, "test")
        page = await client.get(f"/console/counter/members/{shop.member_id}")
        assert "咖啡集点卡 7/10" in text_of(page.text)
    assert asked[0] == (shop.program.id, shop.member_id, "zh_CN")


async def test_a_plugin_reads_a_sale_with_its_lines_and_what_was_refunded(db):
    shop = await make_shop()
    lines = [LineInput("C002", 3, 2_800, "拿铁", "咖啡", labels=("热饮",)), LineInput("D001", 1, 8_800, "鱼头", "热菜")]
    sale = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, lines, attributes={"party_size": "2"}
    )
    await sales.refund(sale.id, {1: 1})
    read = await get_sale(sale.id)
    assert (read["id"], read["program_id"], read["member_id"], read["store_id"]) == (
        sale.id,
        shop.program.id,
        shop.member_id,
        shop.store_id,
    )
    assert read["attributes"] == {"party_size": "2"} and read["status"] == "partially_refunded"
    assert [
        (ln["line_no"], ln["sku"], ln["labels"], ln["quantity"], ln["refunded_quantity"]) for ln in read["lines"]
    ] == [
        (1, "C002", ["热饮"], 3, 1),
        (2, "D001", [], 1, 0),
    ]
    with pytest.raises(SaleNotFound):
        await get_sale(shop.member_id)


async def test_a_plugin_issues_a_coupon_once_per_occasion(db):
    shop = await make_shop()
    template = {"code": "free-latte", "name": "免费拿铁", "kind": "free_item", "free_sku": "C002", "valid_days": 30}
    await coupons.create_template(shop.program.id, template, "test")
    first = await issue_coupon(shop.program.id, "free-latte", shop.member_id, "stamps:card-1")
    again = await issue_coupon(shop.program.id, "free-latte", shop.member_id, "stamps:card-1")
    other = await issue_coupon(shop.program.id, "free-latte", shop.member_id, "stamps:card-2")
    assert first is not None and again is not None and other is not None
    assert first["code"] == again["code"] != other["code"] and first["occasion"] == "stamps:card-1"
    with pytest.raises(CouponTemplateNotFound):
        await issue_coupon(shop.program.id, "nope", shop.member_id, "stamps:card-3")
    await coupons.retire_template(shop.program.id, "free-latte", "test")
    with pytest.raises(CouponTemplateRetired):
        await issue_coupon(shop.program.id, "free-latte", shop.member_id, "stamps:card-3")
    assert (await issue_coupon(shop.program.id, "free-latte", shop.member_id, "stamps:card-1"))["code"] == first["code"]
    limited = {**template, "code": "once", "per_member_limit": 1}
    await coupons.create_template(shop.program.id, limited, "test")
    assert await issue_coupon(shop.program.id, "once", shop.member_id, "a") is not None
    assert await issue_coupon(shop.program.id, "once", shop.member_id, "b") is None  # at the template's limit


async def test_a_demo_profile_says_what_the_till_tells_about_each_sale(db, register_plugin):
    from membership.db import fetch
    from membership.demo.service import create_demo
    from membership.plugin import DemoProfile

    def attributes(rng, when):
        return {"service_mode": rng.choice(("dine_in", "takeaway")), "party_size": str(rng.randint(1, 6))}

    class Diner:
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("小馆", "Diner")

        @hookimpl
        def membership_demo_profile(self):
            return DemoProfile(
                "小馆", "小馆会员", (("CS01", "五一店", "长沙"),), (("N1", "米粉", "粉面", 1_500),), attributes
            )

    register_plugin(Diner(), name="diner")
    await create_demo(members_count=3, purchases=12, seed=5, industry="diner")
    rows = await fetch("SELECT attributes FROM sale")
    assert rows and all('"party_size"' in row["attributes"] and '"service_mode"' in row["attributes"] for row in rows)
