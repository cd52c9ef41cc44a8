"""A report as a boss reads it: headings in Chinese or English with their units (元, 积分), amounts
in yuan, coded values by name, and a total row only for the columns that add up (sales and
revenue do; an average, a rate or a balance of another kind does not) — on the page, in CSV
(UTF-8 with a byte-order mark, so Excel opens the Chinese right) and in XLSX."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from membership.analytics.columns import columns_of
from membership.analytics.interface import Report, ReportColumn, ReportResult
from membership.console import i18n

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclasses.dataclass(frozen=True)
class Cell:
    """A value as shown (``text``) and as a spreadsheet keeps it (``value``: an int, a Decimal of
    yuan, a float for rates, text, or None)."""

    text: str
    value: Any


@dataclasses.dataclass(frozen=True)
class Table:
    """A report ready to show or download: ``headers`` with their units, ``rows`` of cells, the
    ``totals`` row (None when no column adds up or there is one row), what it was filtered by."""

    title: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list[Cell]]
    totals: list[Cell] | None
    filters: list[tuple[str, str]]


def _zh() -> bool:
    return i18n.current_language().startswith("zh")


def _unit_suffix(column: ReportColumn, currency: str) -> str:
    zh = _zh()
    if column.unit == "money":
        unit = "元" if zh and currency == "CNY" else currency
    elif column.unit == "points":
        unit = "积分" if zh else "points"
    elif column.unit == "percent":
        unit = "%"
    else:
        return ""
    return f"（{unit}）" if zh else f" ({unit})"


def _cell(value: Any, column: ReportColumn, currency: str, names: Mapping[str, str]) -> Cell:
    if value is None:
        return Cell("", None)
    if column.unit == "money" and isinstance(value, int):
        digits = get_currency_precision(currency)
        yuan = Decimal(value).scaleb(-digits)
        return Cell(f"{yuan:,.{digits}f}", yuan)
    if column.unit in ("points", "count") and isinstance(value, int):
        return Cell(i18n.number(value), value)
    if column.unit == "percent" and isinstance(value, int | float):
        return Cell(f"{value:g}%", value)
    if isinstance(value, str):
        coded = column.values.get(value) if column.values else None
        if coded:
            shown = coded[0] if _zh() else coded[1]
        else:
            shown = names.get(value, value)
        return Cell(shown, shown)
    return Cell(i18n.number(value) if isinstance(value, int) else str(value), value)


def build(
    report: type[Report],
    result: ReportResult,
    currency: str,
    names: Mapping[str, Mapping[str, str]] | None = None,
    filters: Sequence[tuple[str, str]] = (),
) -> Table:
    """``result`` of ``report`` as a :class:`Table` in the page's language. ``names`` gives coded
    values by column (``{"tier": {"gold": "金卡"}}``, a tier with no code ``""`` read as 无等级)."""
    names = names or {}
    columns = columns_of(report, result.columns)
    headers = [(column.zh if _zh() else column.en) + _unit_suffix(column, currency) for column in columns]
    rows = [
        [_cell(value, column, currency, names.get(column.key, {})) for value, column in zip(row, columns, strict=True)]
        for row in result.rows
    ]
    totals = None
    if len(result.rows) > 1 and any(column.total for column in columns):
        totals = []
        for index, column in enumerate(columns):
            if column.total:
                summed = sum(row[index] for row in result.rows if isinstance(row[index], int))
                totals.append(_cell(summed, column, currency, {}))
            else:
                totals.append(Cell("", None))
        if not columns[0].total:
            totals[0] = Cell("合计" if _zh() else "Total", "合计" if _zh() else "Total")
    numeric = [column.unit in ("money", "points", "count", "percent", "ratio") for column in columns]
    title = report.title_zh if _zh() else report.title_en
    return Table(title, headers, numeric, rows, totals, list(filters))


def as_csv(table: Table) -> bytes:
    """The table as CSV: a heading row, the rows (amounts in yuan, no grouping), the totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    for row in [*table.rows, *([table.totals] if table.totals else [])]:
        writer.writerow(["" if cell.value is None else str(cell.value) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "report"


def as_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook: headings in row 1 (bold, frozen), amounts as numbers in
    yuan (``#,##0.00``), the totals row in bold; a second sheet says what it was filtered by."""
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(table.title)
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([cell.value for cell in row])
    if table.totals:
        sheet.append([cell.value for cell in table.totals])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for index, header in enumerate(table.headers, start=1):
        letter = get_column_letter(index)
        money = "元" in header or "CNY" in header
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00" if money else "0.00"
            elif isinstance(cell.value, int):
                cell.number_format = "#,##0"
        values = [len(str(c.value or "")) + 2 for (c,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]
        sheet.column_dimensions[letter].width = min(max(len(header) * 2, *values, 8), 40)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("筛选条件" if _zh() else "Filters")
    about.append(["报表" if _zh() else "Report", table.title])
    for label, value in table.filters:
        about.append([label, value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
