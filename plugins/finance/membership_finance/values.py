"""Small conversions the pack's services and pages share: months in the program's time zone and
their bounds in UTC, and yuan as staff type them (the database keeps fen)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from membership.plugin import ProgramConfig, Reason, ValidationError

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_FEN = 10**15  # ten trillion yuan: more than any customer's assets


def now() -> dt.datetime:
    """The present moment, UTC."""
    return dt.datetime.now(dt.UTC)


def moment(value: dt.datetime | str) -> dt.datetime:
    """A time read from SQL as an aware UTC datetime (SQLite may give text)."""
    found = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def parse_month(text: str, field: str = "month") -> str:
    """A month typed as ``2026-11`` (also ``2026/11``, ``2026年11月``), as ``YYYY-MM``."""
    cleaned = (text or "").strip().replace("/", "-").replace("年", "-").replace("月", "")
    parts = cleaned.split("-")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        cleaned = f"{parts[0]}-{int(parts[1]):02d}"
    if not MONTH.match(cleaned):
        raise ValidationError(field=field, reason=Reason("a month like 2026-11", "请填写月份，如 2026-11"))
    return cleaned


def month_of(program: ProgramConfig, moment: dt.datetime) -> str:
    """The ``YYYY-MM`` of ``moment`` in the program's time zone."""
    return moment.astimezone(program.zone).strftime("%Y-%m")


def previous_month(month: str) -> str:
    """The month before ``month``."""
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def next_month(month: str) -> str:
    """The month after ``month``."""
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def month_bounds(program: ProgramConfig, month: str) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of ``month`` and of the next one, local midnight in the program's zone, in
    UTC."""

    def start(text: str) -> dt.datetime:
        local = dt.datetime(int(text[:4]), int(text[5:]), 1, tzinfo=program.zone)
        return local.astimezone(dt.UTC)

    return start(month), start(next_month(month))


def day_bounds(program: ProgramConfig, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The local day of ``moment`` in the program's zone, as UTC bounds."""
    local = moment.astimezone(program.zone).date()
    first = dt.datetime.combine(local, dt.time(), tzinfo=program.zone)
    last = dt.datetime.combine(local + dt.timedelta(days=1), dt.time(), tzinfo=program.zone)
    return first.astimezone(dt.UTC), last.astimezone(dt.UTC)


def fen_of(text: str, field: str) -> int:
    """Yuan as a bank's file or a clerk writes them (``82000``, ``82,000.50``, ``¥82000``) in fen."""
    cleaned = re.sub(r"[\s,，¥￥元]", "", text or "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = Decimal(-1)
    if not cleaned or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount * 100 > MAX_FEN:
        raise ValidationError(
            field=field,
            reason=Reason("an amount in yuan, like 82000 or 82000.50", "请填写以元为单位的金额，如 82000 或 82000.50"),
        )
    return int(amount * 100)


def yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators (``8200050`` → ``82,000.50``); empty for None."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def percent_of_times(text: str, field: str) -> int:
    """A multiplier typed as times (``2``, ``1.5``, ``×2``, ``0``) in percent (200, 150, 0)."""
    cleaned = re.sub(r"[\s×xX倍]", "", text or "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = Decimal(-1)
    percent = number * 100
    if not cleaned or number < 0 or percent != percent.to_integral_value() or percent > 1000:
        raise ValidationError(
            field=field,
            reason=Reason(
                "times from 0 to 10, like 2 or 1.5 (0: no points)", "请填写 0 到 10 的倍数，如 2 或 1.5（0 为不积分）"
            ),
        )
    return int(percent)


def times_text(percent: int) -> str:
    """Percent as times staff read: 200 → ``2``, 150 → ``1.5``, 5 → ``0.05``."""
    whole, rest = divmod(percent, 100)
    return f"{whole}" + (f".{rest:02d}".rstrip("0") if rest else "")
