"""商品档案: imported from CSV (UTF-8 or GBK) and Excel with English or Chinese column names, rows
in error listed with their number, updated by SKU; categories and brands listed; a line's brand
and category filled from it when the till sends only the SKU."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from membership.plugin import LineInput, ValidationError
from membership.testing import enable_plugin
from membership_retail import catalogue
from membership_retail.catalogue import Product, parse_catalogue

CSV = (
    "sku,name,category,brand\n6901,伊利纯牛奶,乳品,伊利\n6902,蒙牛酸奶,乳品,蒙牛\n"
    ",无编码,乳品,伊利\n6903,金龙鱼大米,粮油,金龙鱼\n"
)


def test_a_csv_file_gives_its_products_and_the_rows_it_cannot():
    parsed = parse_catalogue("商品.csv", CSV.encode("utf-8-sig"))
    assert [p.sku for p in parsed.products] == ["6901", "6902", "6903"]
    assert [(e.row, e.reason.zh) for e in parsed.errors] == [(4, "商品编码须为 1 到 64 个字符")]


def test_chinese_headers_and_gbk_as_excel_saves_csv_in_china():
    text = "商品编码,商品名称,品类,品牌\n6901,伊利纯牛奶,乳品,伊利\n"
    parsed = parse_catalogue("goods.csv", text.encode("gb18030"))
    assert parsed.products == [Product("6901", "伊利纯牛奶", "乳品", "伊利")]


def test_an_excel_file_with_barcodes_as_numbers():
    book = Workbook()
    sheet = book.active
    sheet.append(["条码", "品名", "分类", "品牌"])
    sheet.append([6907992500010, "伊利纯牛奶", "乳品", "伊利"])
    data = io.BytesIO()
    book.save(data)
    parsed = parse_catalogue("goods.xlsx", data.getvalue())
    assert parsed.products == [Product("6907992500010", "伊利纯牛奶", "乳品", "伊利")]


@pytest.mark.parametrize(
    ("name", "data"), [("goods.csv", b"name,brand\nx,y\n"), ("goods.pdf", b"%PDF"), ("goods.xlsx", b"not a workbook")]
)
def test_a_file_without_a_sku_column_or_of_another_kind_is_refused(name, data):
    with pytest.raises(ValidationError):
        parse_catalogue(name, data)


async def test_an_import_adds_then_updates_by_sku_and_lists_categories_and_brands(retail):
    program_id = retail.program.id
    first = await catalogue.import_products(program_id, parse_catalogue("a.csv", CSV.encode()).products)
    assert (first.added, first.updated) == (3, 0)
    again = await catalogue.import_products(
        program_id, [Product("6901", "伊利纯牛奶 1L", "乳品", "伊利"), Product("7001", "可乐")]
    )
    assert (again.added, again.updated) == (1, 1)
    assert await catalogue.product_count(program_id) == 4
    assert (await catalogue.products_by_sku(program_id, ["6901"]))["6901"].name == "伊利纯牛奶 1L"
    assert await catalogue.catalogue_counts(program_id, "category") == [("乳品", 2), ("粮油", 1)]
    assert await catalogue.catalogue_counts(program_id, "brand") == [("伊利", 1), ("蒙牛", 1), ("金龙鱼", 1)]
    assert [p.sku for p in await catalogue.list_products(program_id, "乳")] == ["6901", "6902"]
    assert [p.sku for p in await catalogue.list_products(program_id, "%")] == []  # literally, not everything


async def test_lines_are_filled_from_the_catalogue_unless_the_settings_say_not(retail):
    await catalogue.import_products(retail.program.id, [Product("6901", "伊利纯牛奶", "乳品", "伊利")])
    lines = [LineInput("6901", 1, 100), LineInput("6901", 1, 100, category="促销"), LineInput("9999", 1, 100)]
    filled = await catalogue.filled(retail.program, lines)
    assert [(line.category, line.brand) for line in filled] == [("乳品", "伊利"), ("促销", "伊利"), ("", "")]
    program = await enable_plugin(retail.program.id, "retail", {"catalogue_fills_lines": False})
    assert await catalogue.filled(program, lines) == lines


async def test_the_catalogue_through_the_api(retail, retail_api):
    admin = await retail_api("admin")
    body = {"products": [{"sku": "6901", "name": "伊利纯牛奶", "category": "乳品", "brand": "伊利"}]}
    put = await admin.put("/retail/products", json=body)
    assert put.status_code == 200 and put.json() == {"added": 1, "updated": 0}
    till = await retail_api("read")
    found = await till.get("/retail/products", params={"search": "伊利"})
    assert found.json() == body["products"]
    assert (await till.put("/retail/products", json=body)).status_code == 403  # read keys do not write
