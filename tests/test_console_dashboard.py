"""The dashboard and report pages: figures from the analytics hook, chart data, who may see them."""

from __future__ import annotations

import json
import re

from membership.ledger.rules import LineInput
from membership.sales import service as sales
from tests.console_client import text_of


async def test_the_dashboard_shows_figures_and_carries_chart_data(console):
    shop = console.shop
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 12_345)])
    async with console.logged_in("analyst") as client:
        home = await client.get("/console/")
        assert home.headers["location"] == "/console/dashboard"
        page = await client.get("/console/dashboard")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "会员 1" in text and "销售额 ¥246.90" in text and "1 笔消费" in text and "客单价 ¥246.90" in text
    assert "积分负债 246" in text and "复购率 0%" in text
    charts = json.loads(re.search(r'id="chart-data">(.*?)</script>', page.text, re.S).group(1))
    assert [(row["sales"], row["revenue"]) for row in charts["sales"]] == [(1, 24_690)]
    assert charts["tiers"] == [{"name": "无等级", "value": 1}] and charts["buyers"][0]["new_buyers"] == 1
    assert "/console/static/vendor/echarts/echarts.min.js" in page.text


async def test_every_registered_report_opens_as_a_table(console):
    shop = console.shop
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)])
    async with console.logged_in("manager") as client:
        report = await client.get("/console/reports/points_liability")
        missing = await client.get("/console/reports/nothing_here")
        settlement = await client.get("/console/reports/settlement", params={"months": 1})
    assert report.status_code == 200 and "积分负债" in report.text and "积分 100" in text_of(report.text)
    assert settlement.status_code == 200 and "门店清算" in settlement.text and "没有数据" in text_of(settlement.text)
    assert missing.status_code == 404 and "没有名为 “nothing_here” 的报表" in missing.text


async def test_clerks_do_not_see_the_dashboard(console):
    async with console.logged_in("clerk") as client:
        page = await client.get("/console/dashboard")
        counter = await client.get("/console/counter")
    assert page.status_code == 403 and "/console/dashboard" not in counter.text
