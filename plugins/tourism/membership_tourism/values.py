"""Small conversions the pack's services and pages share: the program's local day, codes, JSON
lists in text columns, yuan as staff type them and fen as the database keeps them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from membership.plugin import ProgramConfig, Reason, ValidationError

CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MAX_FEN = 10**12


def now() -> dt.datetime:
    """The present moment, UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class LocalDay:
    """A moment's day in the program's time zone: its date, the hour of the moment, and the day's
    bounds in UTC (an entry keeps them, so reports compare sales with the day without time-zone
    arithmetic in SQL)."""

    day: dt.date
    hour: int
    start: dt.datetime
    end: dt.datetime


def local_day(program: ProgramConfig, moment: dt.datetime) -> LocalDay:
    """The local day (and hour) of ``moment`` in the program's zone."""
    local = moment.astimezone(program.zone)
    start = dt.datetime.combine(local.date(), dt.time(), tzinfo=program.zone)
    end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=program.zone)
    return LocalDay(local.date(), local.hour, start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def today(program: ProgramConfig) -> dt.date:
    """Today's date in the program's zone."""
    return dt.datetime.now(program.zone).date()


def moment(value: Any) -> dt.datetime | None:
    """A time read from SQL as an aware UTC datetime (SQLite gives aggregates as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def check_code(code: str, field: str = "code") -> str:
    """``code`` if it is 1–32 letters, digits, ``_``, ``.`` or ``-`` (it goes into addresses)."""
    if not CODE.match(code or ""):
        raise ValidationError(
            field=field, reason=Reason("1 to 32 letters, digits, _ . or -", "1 到 32 个字母、数字、_ . 或 -")
        )
    return code


def as_list(value: Any) -> list[str]:
    """A JSON list column's value (text on SQLite and PostgreSQL) as a list of strings."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(item) for item in value or ()]


def to_json(values: list[str]) -> str:
    """A list of strings as the JSON text a list column keeps."""
    return json.dumps(list(values), ensure_ascii=False)


def parse_day(text: str, field: str = "day") -> dt.date:
    """A date typed as ``2026-10-01``."""
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationError(
            field=field, reason=Reason("a date like 2026-10-01", "请填写日期，如 2026-10-01")
        ) from None


def fen_of(text: str, field: str) -> int:
    """Yuan as staff type them (``88``, ``88.5``, ``¥88.50``) in fen; empty is 0."""
    cleaned = (text or "").strip().replace("¥", "").replace("￥", "").replace(",", "").replace("元", "")
    if not cleaned:
        return 0
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = Decimal(-1)
    if amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount * 100 > MAX_FEN:
        raise ValidationError(
            field=field, reason=Reason("an amount in yuan, like 88 or 88.50", "请输入以元为单位的金额，如 88 或 88.50")
        )
    return int(amount * 100)


def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals (``29900`` → ``299.00``); empty for None."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def whole(text: str, field: str, default: int = 0) -> int:
    """A whole number typed in a form (empty: ``default``)."""
    text = (text or "").strip().rstrip("%").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValidationError(field=field, reason=Reason("a whole number", "须为整数"))
    return int(text)
