"""The pack's console pages (零售) in Chinese and English: forms in yuan, a catalogue upload, points
rules, a clerk claiming a receipt for a member, the repurchase page and the basket chart; who may
do what."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from membership.plugin import LineInput
from membership.sales import service as sales
from membership.testing import Clock, make_card
from membership_retail import catalogue, earning, member_prices, receipts
from tests.console_client import Console, csrf_of, make_staff, text_of

PAGES = ("/", "/prices", "/catalogue", "/rules", "/claims", "/repurchase", "/basket")


@pytest.fixture
async def console(retail, any_db):
    """The console over the retail shop, built after the pack was loaded, with a staff member per role."""
    from membership.testing import app_for

    await make_staff(retail.shop)
    return Console(app_for(any_db), retail.shop)


async def test_every_page_in_chinese_and_in_english(console, retail):
    async with console.logged_in("owner") as owner:
        for path in PAGES:
            page = await owner.get(f"/console/retail{path}".rstrip("/") if path != "/" else "/console/retail/")
            assert page.status_code == 200, (path, page.text)
            assert "零售" in page.text or "会员价" in page.text
        home = await owner.get("/console/counter")
        assert 'href="/console/retail"' in home.text  # in the menu
        await owner.post(
            "/console/language", data={"language": "en", "next": "/console/retail/", "_csrf_token": csrf_of(owner)}
        )
        for path in PAGES:
            page = await owner.get(f"/console/retail{path}" if path != "/" else "/console/retail/")
            assert page.status_code == 200
            shown = text_of(page.text.split("<main>")[1]).replace(retail.program.name, "")
            shown = shown.replace("商品编码, 商品名称, 品类, 品牌", "")  # the Chinese column names a file may use
            assert not re.search(r"[\u4e00-\u9fff]", shown), (path, shown)


async def test_a_manager_sets_a_member_price_in_yuan(console, retail):
    async with console.logged_in("manager") as manager:
        form = {
            "scope": "sku",
            "target": "6901",
            "tier": "",
            "price": "12.80",
            "percent": "",
            "_csrf_token": csrf_of(manager),
        }
        saved = await manager.post("/console/retail/prices", data=form)
        assert saved.status_code == 303
        page = await manager.get(saved.headers["location"])
        assert "会员价已保存" in page.text and "12.80" in page.text
        wrong = await manager.post("/console/retail/prices", data={**form, "price": "12.805"})
        assert wrong.status_code == 422 and "最多两位小数" in wrong.text and 'value="12.805"' in wrong.text
    assert [(p.price, p.percent) for p in await member_prices.member_prices(retail.program.id)] == [(1_280, None)]
    price_id = (await member_prices.member_prices(retail.program.id))[0].id
    async with console.logged_in("clerk") as clerk:
        form = {"scope": "sku", "target": "6902", "price": "1", "_csrf_token": csrf_of(clerk)}
        assert (await clerk.post("/console/retail/prices", data=form)).status_code == 403
        assert "设置会员价" not in (await clerk.get("/console/retail/prices")).text
    async with console.logged_in("owner") as owner:
        gone = await owner.post(f"/console/retail/prices/{price_id}/delete", data={"_csrf_token": csrf_of(owner)})
        assert gone.status_code == 303
    assert await member_prices.member_prices(retail.program.id) == []


async def test_the_catalogue_is_uploaded_as_a_file(console, retail):
    csv = "商品编码,商品名称,品类,品牌\n6901,伊利纯牛奶,乳品,伊利\n,没有编码,乳品,\n".encode()
    async with console.logged_in("owner") as owner:
        page = await owner.post(
            "/console/retail/catalogue",
            data={"_csrf_token": csrf_of(owner)},
            files={"file": ("商品档案.csv", csv, "text/csv")},
        )
        assert page.status_code == 200, page.text
        assert "新增 1 个商品，更新 0 个，跳过 1 行" in page.text and "第 3 行" in page.text
        assert "伊利纯牛奶" in page.text
        bad = await owner.post(
            "/console/retail/catalogue", data={"_csrf_token": csrf_of(owner)}, files={"file": ("a.pdf", b"%PDF", "x")}
        )
        assert bad.status_code == 422 and "请上传 .csv 或 .xlsx 文件" in bad.text
    assert await catalogue.product_count(retail.program.id) == 1


async def test_a_points_rule_is_added_switched_off_and_removed(console, retail):
    async with console.logged_in("owner") as owner:
        form = {
            "name": "伊利加送",
            "points_per_yuan": "2",
            "brands": "伊利\n蒙牛",
            "exclude_skus": "6903",
            "_csrf_token": csrf_of(owner),
        }
        assert (await owner.post("/console/retail/rules", data=form)).status_code == 303
        rule = (await earning.points_rules(retail.program.id))[0]
        assert rule.brands == ("伊利", "蒙牛") and rule.exclude_skus == ("6903",)
        off = await owner.post(f"/console/retail/rules/{rule.id}/off", data={"_csrf_token": csrf_of(owner)})
        assert off.status_code == 303 and not (await earning.points_rules(retail.program.id))[0].active
        page = await owner.get("/console/retail/rules")
        assert "已停用" in page.text
        bad = await owner.post("/console/retail/rules", data={**form, "points_per_yuan": "0"})
        assert bad.status_code == 422 and "须为 1 到 100 的整数" in bad.text
        await owner.post(f"/console/retail/rules/{rule.id}/delete", data={"_csrf_token": csrf_of(owner)})
    assert await earning.points_rules(retail.program.id) == []


async def test_a_clerk_claims_a_receipt_for_a_member_by_card(console, retail):
    card = await make_card(retail.shop.member_id, "04A1B2C3")
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    lines = [LineInput("6901", 1, 4_250, "伊利纯牛奶")]
    await receipts.keep_receipt(retail.program, retail.shop.store_id, "SH01-0042", when, lines)
    async with console.logged_in("clerk") as clerk:
        form = {"receipt_no": "SH01-0042", "kind": "card_uid", "value": card["value"], "_csrf_token": csrf_of(clerk)}
        page = await clerk.post("/console/retail/claims", data=form)
        assert page.status_code == 200, page.text
        assert "小票 SH01-0042（¥42.50）已补录，会员获得 42 积分。" in page.text
        again = await clerk.post("/console/retail/claims", data=form)
        assert again.status_code == 422 and "不能重复补录" in again.text
    async with console.logged_in("analyst") as analyst:
        assert (await analyst.get("/console/retail/claims")).status_code == 403
        assert "/console/retail/claims" not in (await analyst.get("/console/retail/")).text


async def test_the_repurchase_page_and_the_basket_chart(console, retail):
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    for day in (0, 10, 20):
        lines = [LineInput("6901", 1, 6_900, "啤酒", "酒水"), LineInput("6924", 1, 990, "薯片", "零食")]
        await sales.record_purchase(
            retail.program.id, retail.shop.store_id, retail.shop.member_id, lines, now=start + dt.timedelta(days=day)
        )
    await Clock().run_job("retail-repurchase")
    async with console.logged_in("analyst") as analyst:
        page = await analyst.get("/console/retail/repurchase")
        assert "酒水" in page.text and "10" in page.text
        chart = await analyst.get("/console/retail/basket", params={"min_baskets": "2", "days": "60"})
        assert chart.status_code == 200
        data = re.search(r'<script type="application/json" id="basket-data">(.*?)</script>', chart.text, re.S)[1]
        assert "酒水 → 零食" in json.loads(data)["rules"] and json.loads(data)["lift"] == [1.0, 1.0]
        assert '<script src="/console/retail/basket.js" defer>' in chart.text
        script = await analyst.get("/console/retail/basket.js")
        assert script.status_code == 200 and "echarts.init" in script.text
        assert "javascript" in script.headers["content-type"]
        assert "script-src 'self'" in chart.headers["content-security-policy"]
