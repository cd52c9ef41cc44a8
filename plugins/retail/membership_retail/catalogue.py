"""The product catalogue (商品档案): SKU, name, category and brand, per program.

Staff import it from a CSV or Excel file with the columns ``sku, name, category, brand`` (or
their Chinese names: 商品编码, 商品名称, 品类, 品牌); an integration sends it through the API. When a
till sends only a line's SKU, the catalogue gives its category and brand, for member prices,
points rules, purchase cycles and the basket analysis.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import uuid
from collections.abc import Iterable
from typing import Any

from membership.plugin import LineInput, ProgramConfig, Reason, ValidationError, fetch, fetch_one, new_id, use_case
from membership_retail.dialect import one_of
from membership_retail.settings import settings_of

MAX_ROWS = 100_000
CHUNK = 500
HEADERS = {
    "sku": ("sku", "商品编码", "编码", "条码", "商品条码", "货号"),
    "name": ("name", "商品名称", "名称", "品名"),
    "category": ("category", "品类", "类别", "分类", "商品分类"),
    "brand": ("brand", "品牌"),
}


@dataclasses.dataclass(frozen=True)
class Product:
    """One product of the catalogue."""

    sku: str
    name: str = ""
    category: str = ""
    brand: str = ""


@dataclasses.dataclass(frozen=True)
class RowError:
    """A row of an imported file that was not taken, and why (row 1 is the header)."""

    row: int
    reason: Reason


@dataclasses.dataclass(frozen=True)
class Parsed:
    """What a catalogue file holds: the products it gives and the rows it could not."""

    products: list[Product]
    errors: list[RowError]


@dataclasses.dataclass(frozen=True)
class Imported:
    """What an import changed."""

    added: int
    updated: int


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # Excel keeps barcodes as numbers
        value = int(value)
    return str(value).strip()


def _columns(header: list[str]) -> dict[str, int]:
    """Where each known column is in the header row; ``sku`` is required."""
    names = [h.strip().lower() for h in header]
    found = {}
    for field, aliases in HEADERS.items():
        for alias in aliases:
            if alias in names:
                found[field] = names.index(alias)
                break
    if "sku" not in found:
        raise ValidationError(
            field="file",
            reason=Reason(
                "the first row must name the columns, with sku (and name, category, brand)",
                "第一行须是列名，至少包含 sku（商品编码），可加 name、category、brand（商品名称、品类、品牌）",
            ),
        )
    return found


def _rows(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text cells: CSV (UTF-8, or GBK as Excel in China saves it) or XLSX."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise ValidationError(field="file", reason=Reason("not an Excel file", "不是有效的 Excel 文件")) from exc
        try:
            return [[_cell(c) for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    if not filename.lower().endswith((".csv", ".txt")):
        raise ValidationError(field="file", reason=Reason("a .csv or .xlsx file", "请上传 .csv 或 .xlsx 文件"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise ValidationError(field="file", reason=Reason("not a text file", "不是文本文件"))
    return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text))]


def parse_catalogue(filename: str, data: bytes) -> Parsed:
    """The products in a catalogue file; rows without a SKU or with too long a value are listed
    as errors (a SKU given twice: the later row wins)."""
    rows = [row for row in _rows(filename, data) if any(row)]
    if not rows:
        raise ValidationError(field="file", reason=Reason("the file is empty", "文件是空的"))
    if len(rows) > MAX_ROWS + 1:
        raise ValidationError(
            field="file", reason=Reason(f"at most {MAX_ROWS} products a file", f"每个文件最多 {MAX_ROWS} 个商品")
        )
    columns = _columns(rows[0])
    products: dict[str, Product] = {}
    errors = []
    for number, row in enumerate(rows[1:], 2):
        values = {field: row[i] if i < len(row) else "" for field, i in columns.items()}
        try:
            product = checked(Product(**values))
        except ValidationError as exc:
            errors.append(RowError(number, exc.params["reason"]))
            continue
        products[product.sku] = product
    return Parsed(list(products.values()), errors)


def checked(product: Product) -> Product:
    """``product`` trimmed, or ``ValidationError`` naming what is wrong."""
    product = Product(*(value.strip() for value in dataclasses.astuple(product)))
    if not 1 <= len(product.sku) <= 64:
        raise ValidationError(field="sku", reason=Reason("sku: 1 to 64 characters", "商品编码须为 1 到 64 个字符"))
    if len(product.name) > 200:
        raise ValidationError(field="name", reason=Reason("name: at most 200 characters", "商品名称最多 200 个字符"))
    for field, label in (("category", "品类"), ("brand", "品牌")):
        if len(getattr(product, field)) > 64:
            raise ValidationError(
                field=field, reason=Reason(f"{field}: at most 64 characters", f"{label}最多 64 个字符")
            )
    return product


@use_case
async def import_products(program_id: uuid.UUID, products: list[Product]) -> Imported:
    """Add or update ``products`` in the program's catalogue (by SKU): a few set-based statements
    per 500 products, all or nothing."""
    products = list({p.sku: p for p in map(checked, products)}.values())  # a SKU given twice: the later wins
    added = updated = 0
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(products), CHUNK):
        chunk = products[start : start + CHUNK]
        condition, skus = one_of("sku", [p.sku for p in chunk])
        known = await fetch_one(
            f"SELECT COUNT(*) AS n FROM retail_product WHERE program_id = {{}} AND {condition}", program_id, skus
        )
        args: list[Any] = []
        for p in chunk:
            args += [new_id(), program_id, p.sku, p.name, p.category, p.brand, now]
        await fetch(
            "INSERT INTO retail_product (id, program_id, sku, name, category, brand, updated_at) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (program_id, sku) DO UPDATE SET name = excluded.name, category = excluded.category,"
            " brand = excluded.brand, updated_at = excluded.updated_at",
            *args,
        )
        updated += int(known["n"])
        added += len(chunk) - int(known["n"])
    return Imported(added, updated)


async def products_by_sku(program_id: uuid.UUID, skus: Iterable[str]) -> dict[str, Product]:
    """The catalogue's products among ``skus``, by SKU (one query)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    condition, arg = one_of("sku", wanted)
    rows = await fetch(
        f"SELECT sku, name, category, brand FROM retail_product WHERE program_id = {{}} AND {condition}",
        program_id,
        arg,
    )
    return {row["sku"]: Product(row["sku"], row["name"], row["category"], row["brand"]) for row in rows}


async def filled(program: ProgramConfig, lines: Iterable[LineInput]) -> list[LineInput]:
    """``lines`` with an empty category or brand taken from the catalogue (when the program's
    settings say so); lines the catalogue does not know stay as sent."""
    lines = list(lines)
    missing = [line.sku for line in lines if not (line.category and line.brand)]
    if not missing or not settings_of(program).catalogue_fills_lines:
        return lines
    known = await products_by_sku(program.id, missing)
    result = []
    for line in lines:
        product = known.get(line.sku)
        if product is not None:
            line = dataclasses.replace(
                line, category=line.category or product.category, brand=line.brand or product.brand
            )
        result.append(line)
    return result


async def list_products(program_id: uuid.UUID, search: str = "", limit: int = 50, offset: int = 0) -> list[Product]:
    """Products of the catalogue by SKU, those whose SKU, name, category or brand contain
    ``search`` when given."""
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await fetch(
            "SELECT sku, name, category, brand FROM retail_product WHERE program_id = {} AND (sku LIKE {} ESCAPE '\\'"
            " OR name LIKE {} ESCAPE '\\' OR category LIKE {} ESCAPE '\\' OR brand LIKE {} ESCAPE '\\')"
            " ORDER BY sku LIMIT {} OFFSET {}",
            program_id,
            pattern,
            pattern,
            pattern,
            pattern,
            limit,
            offset,
        )
    else:
        rows = await fetch(
            "SELECT sku, name, category, brand FROM retail_product WHERE program_id = {}"
            " ORDER BY sku LIMIT {} OFFSET {}",
            program_id,
            limit,
            offset,
        )
    return [Product(row["sku"], row["name"], row["category"], row["brand"]) for row in rows]


async def catalogue_counts(program_id: uuid.UUID, field: str) -> list[tuple[str, int]]:
    """The catalogue's categories (``field="category"``) or brands, with how many products each."""
    if field not in ("category", "brand"):
        raise ValueError(field)
    rows = await fetch(
        f"SELECT {field} AS value, COUNT(*) AS n FROM retail_product WHERE program_id = {{}} AND {field} <> ''"
        f" GROUP BY {field} ORDER BY COUNT(*) DESC, {field}",
        program_id,
    )
    return [(row["value"], int(row["n"])) for row in rows]


async def product_count(program_id: uuid.UUID) -> int:
    """How many products the catalogue has."""
    row = await fetch_one("SELECT COUNT(*) AS n FROM retail_product WHERE program_id = {}", program_id)
    return int(row["n"]) if row else 0
