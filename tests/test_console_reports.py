"""Reports a boss can read, on SQLite and PostgreSQL: Chinese (and English) headings with their
units, amounts in yuan, totals only for the columns that add up (never points with money), date
and store filters on the page, the dashboard and the downloads (XLSX opened with openpyxl, CSV
with a byte-order mark), each download audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from openpyxl import load_workbook

from membership.db import fetch
from membership.db.sql import json_column
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.sales import service as sales
from tests.console_client import csrf_of, text_of


def _local(shop, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=shop.program.zone).astimezone(dt.UTC)


async def _sales(shop) -> tuple[dt.date, dt.date]:
    """Three sales: two at S1 (one of them ten days ago) and one at S2; points spent too."""
    today = dt.datetime.now(shop.program.zone).date()
    earlier = today - dt.timedelta(days=10)
    buy = sales.record_purchase
    await buy(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 12_345)], now=_local(shop, earlier))
    await buy(shop.program.id, shop.store_id, shop.member_id, [LineInput("B", 1, 10_000)])
    await buy(shop.program.id, shop.other_store_id, shop.member_id, [LineInput("C", 1, 5_050)])
    await ledger.adjust_points(shop.member_id, 1_000, "开业赠送", "test")
    return earlier, today


def _rows(page: str) -> list[str]:
    body = re.search(r'<table class="list report">(.*?)</table>', page, re.S)[1]
    return [text_of(row).strip() for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


async def test_a_report_has_chinese_headings_units_and_totals_only_where_they_add_up(any_console):
    shop = any_console.shop
    earlier, today = await _sales(shop)
    async with any_console.logged_in("owner") as client:
        page = (await client.get("/console/reports/sales_by_store", params={"start": earlier, "end": today})).text
        rows = _rows(page)
        assert rows[0] == "门店 门店名称 消费笔数 消费会员 销售额（元） 客单价（元） 发放积分（积分）"
        assert rows[1] == "S1 一号店 2 1 346.90 173.45 346"
        assert rows[2] == "S2 二号店 1 1 50.50 50.50 50"
        assert (
            rows[3] == "合计 3 397.40 396"
        )  # no total of buying members (one may buy at two stores) nor of the average
        liability = _rows((await client.get("/console/reports/points_liability")).text)
        assert liability[0] == "账户 积分、成长值余额 储值余额（元）"
        assert "积分 1,396" in liability and "成长值 396" in liability
        assert liability[-1] == "合计 0.00"  # the money column alone: points are never added to money
        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        english = _rows((await client.get("/console/reports/sales_by_store", params={"start": earlier})).text)
        assert (
            english[0]
            == "Store Store name Sales Buying members Revenue (CNY) Average ticket (CNY) Points earned (points)"
        )
        assert english[-1].startswith("Total 3 397.40")


async def test_the_period_and_store_filters_narrow_reports_and_the_dashboard(any_console):
    shop = any_console.shop
    earlier, today = await _sales(shop)
    async with any_console.logged_in("owner") as client:
        by_month = "/console/reports/sales_by_month"
        all_of_it = _rows((await client.get(by_month, params={"start": earlier, "end": today})).text)
        assert sum(int(row.split()[1]) for row in all_of_it[1:] if not row.startswith("合计")) == 3
        one_store = _rows((await client.get(by_month, params={"start": today, "store": str(shop.other_store_id)})).text)
        assert one_store[1:] == [f"{today:%Y-%m} 1 50.50 50"]
        figures = "/console/reports/period_figures"
        s1 = _rows((await client.get(figures, params={"start": earlier, "end": today, "store": shop.store_id})).text)
        assert s1[1] == "1 1 1 1 2 346.90 173.45 346"
        only_today = _rows((await client.get(figures, params={"start": today, "end": today})).text)
        assert only_today[1] == "1 1 1 1 2 150.50 75.25 150"  # 张伟 enrolled today and bought twice today
        wrong = await client.get(figures, params={"start": today, "end": earlier})
        assert wrong.status_code == 422 and "结束日期不能早于开始日期" in wrong.text

        dashboard = text_of(
            (await client.get("/console/dashboard", params={"start": today, "store": shop.other_store_id})).text
        )
        assert "销售额 ¥50.50" in dashboard and "1 笔消费" in dashboard and "客单价 ¥50.50" in dashboard
        whole = text_of((await client.get("/console/dashboard", params={"start": earlier, "end": today})).text)
        assert "销售额 ¥397.40" in whole and "3 笔消费" in whole and "复购率 100%" in whole


async def test_a_report_downloads_as_xlsx_and_csv_with_chinese_headings_and_totals(any_console):
    shop = any_console.shop
    earlier, today = await _sales(shop)
    async with any_console.logged_in("owner") as client:
        query = {"start": earlier, "end": today}
        xlsx = await client.get("/console/reports/sales_by_store/xlsx", params=query)
        assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(xlsx.content))
        sheet = book.worksheets[0]
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert sheet.title == "门店销售"
        assert rows[0] == [
            "门店",
            "门店名称",
            "消费笔数",
            "消费会员",
            "销售额（元）",
            "客单价（元）",
            "发放积分（积分）",
        ]
        assert rows[1][:5] == ["S1", "一号店", 2, 1, 346.9] and sheet["E2"].number_format == "#,##0.00"
        assert rows[-1] == ["合计", None, 3, None, 397.4, None, 396]
        about = {row[0].value: row[1].value for row in book.worksheets[1].iter_rows()}
        assert about["报表"] == "门店销售" and about["期间"] == f"{earlier} – {today}"
        text = (await client.get("/console/reports/sales_by_store/csv", params=query)).content.decode("utf-8")
        assert text.startswith("\ufeff")
        lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert (
            lines[0][4] == "销售额（元）"
            and lines[1][4] == "346.90"
            and lines[-1][:5] == ["合计", "", "3", "", "397.40"]
        )
        refused = await client.get("/console/reports/sales_by_store/pdf")
        assert refused.status_code == 404
    downloads = await fetch("SELECT object_id, details FROM audit_log WHERE action = 'report.download'")
    assert [row["object_id"] for row in downloads] == ["sales_by_store", "sales_by_store"]
    assert sorted(json_column(row["details"])["format"] for row in downloads) == ["csv", "xlsx"]


async def test_a_clerk_may_not_download_reports(any_console):
    async with any_console.logged_in("clerk") as client:
        answer = await client.get("/console/reports/sales_by_store/xlsx")
    assert answer.status_code == 403
