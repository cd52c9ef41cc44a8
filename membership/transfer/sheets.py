"""Spreadsheet files, read and written a row at a time: CSV (UTF-8, with or without the BOM Excel
writes, or GB18030 as Chinese Excel saves "CSV") and Excel workbooks (``.xlsx``, through
openpyxl's read-only and write-only modes). Memory stays flat however many rows a file has.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from membership.errors import Reason
from membership.transfer.errors import ImportFileUnreadable

FORMATS = ("csv", "xlsx")
SNIFF_BYTES = 1 << 20


def file_format(path: Path) -> str:
    """``csv`` or ``xlsx`` from the file's name; ``ImportFileUnreadable`` for anything else."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "txt"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    raise ImportFileUnreadable(
        file=path.name,
        reason=Reason("only .csv and .xlsx files can be imported", "只能导入 .csv 或 .xlsx 文件"),
    )


def cell_text(value: Any) -> str:
    """A workbook cell as the text a person typed: whole numbers without ``.0`` (a phone typed
    as a number), other numbers exactly as written, dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _csv_encoding(path: Path) -> str:
    """``utf-8-sig`` unless the start of the file is not UTF-8 (then GB18030, which Chinese Excel
    writes; it reads GBK and GB2312 too)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the sample
            return "gb18030"
    return "utf-8-sig"


class SheetReader:
    """The rows of a CSV file or of a workbook's first sheet: ``(row number, cells as text)``,
    numbered as a spreadsheet shows them (the header is row 1 when it is the first line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = file_format(path)
        self._handle: IO[str] | None = None
        self._workbook: Any = None

    def __enter__(self) -> SheetReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
        if self._workbook is not None:
            self._workbook.close()

    def estimated_rows(self) -> int | None:
        """About how many rows the file has (for a progress bar), header included; None when
        unknown. CSV: its line breaks, counted without decoding."""
        if self.format == "csv":
            with self.path.open("rb") as handle:
                return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        return self._sheet().max_row

    def _sheet(self) -> Any:
        if self._workbook is None:
            import openpyxl

            try:
                self._workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
            except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
                raise ImportFileUnreadable(
                    file=self.path.name,
                    reason=Reason(f"not an Excel workbook ({type(exc).__name__})", "不是有效的 Excel 工作簿"),
                ) from exc
        return self._workbook.worksheets[0]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Every row with its number, cells as text (blank rows included, as empty lists)."""
        if self.format == "xlsx":
            for number, values in enumerate(self._sheet().iter_rows(values_only=True), start=1):
                cells = [cell_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()
                yield number, cells
            return
        encoding = _csv_encoding(self.path)
        self._handle = self.path.open(encoding=encoding, newline="")
        reader = csv.reader(self._handle)
        number = 0
        try:
            for cells in reader:
                number += 1
                yield number, [cell.strip() for cell in cells]
        except UnicodeDecodeError as exc:
            raise ImportFileUnreadable(
                file=self.path.name,
                reason=Reason(
                    f"row {number + 1} is not {encoding} text; save the file as CSV UTF-8",
                    f"第 {number + 1} 行不是 {encoding} 编码的文本；请另存为 “CSV UTF-8” 格式",
                ),
            ) from exc
        except csv.Error as exc:
            raise ImportFileUnreadable(
                file=self.path.name, reason=Reason(f"row {number + 1}: {exc}", f"第 {number + 1} 行：{exc}")
            ) from exc


class SheetWriter:
    """Rows written to a CSV file (UTF-8 with a BOM, so Excel opens Chinese text correctly) or to a
    workbook's one sheet (write-only: rows go to disk as they come). Amounts given as
    :class:`~decimal.Decimal` become numbers with two decimals in a workbook. A file is readable
    by its owner only: exports and error files hold personal data."""

    def __init__(self, target: Path | IO[bytes], fmt: str, title: str = "members") -> None:
        self.format = fmt
        self.rows = 0
        self._owned = isinstance(target, Path)
        if fmt == "csv":
            raw = _private(target) if isinstance(target, Path) else target
            self._raw = raw
            self._text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", write_through=True)
            self._csv = csv.writer(self._text)
        else:
            import openpyxl

            self._target = target
            self._workbook = openpyxl.Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet(title)

    def write(self, cells: list[Any]) -> None:
        """Append one row."""
        self.rows += 1
        if self.format == "csv":
            self._csv.writerow(["" if cell is None else cell for cell in cells])
            return
        self._sheet.append([self._cell(cell) for cell in cells])

    def _cell(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self._sheet, value=value)
            cell.number_format = "0.00"
            return cell
        return value

    def close(self) -> None:
        """Finish the file (a workbook is written out now)."""
        if self.format == "csv":
            self._text.flush()
            self._text.detach()
            if self._owned:
                self._raw.close()
            return
        self._workbook.save(self._target)
        if isinstance(self._target, Path):
            self._target.chmod(0o600)


def _private(path: Path) -> IO[bytes]:
    """``path`` opened for writing (emptied), readable and writable by its owner only."""
    if path.exists():
        path.chmod(0o600)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
