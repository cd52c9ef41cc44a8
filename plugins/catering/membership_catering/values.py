"""Small conversions the pack's services and pages share: JSON lists in text columns, yuan as staff
type them and fen as the database keeps them, codes, the clock."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from membership.plugin import Reason, ValidationError

CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_FEN = 10**12


def now() -> dt.datetime:
    """The present moment, UTC."""
    return dt.datetime.now(dt.UTC)


def as_list(value: Any) -> list[str]:
    """A JSON list column's value (text on SQLite and PostgreSQL) as a list of strings."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(item) for item in value or ()]


def to_json(values: list[str]) -> str:
    """A list of strings as the JSON text a list column keeps."""
    return json.dumps(list(values), ensure_ascii=False)


def check_code(code: str, field: str = "code") -> str:
    """``code`` if it is 1–64 letters, digits, ``_``, ``.`` or ``-`` (it goes into addresses)."""
    if not CODE.match(code or ""):
        raise ValidationError(
            field=field,
            reason=Reason("1 to 64 letters, digits, _ . or -", "1 到 64 个字母、数字、_ . 或 -"),
        )
    return code


def words(text: str, limit: int = 50, longest: int = 32) -> list[str]:
    """Items typed one per line or separated by commas (，、 too), trimmed, without repeats."""
    items = [part.strip() for part in re.split(r"[\n,，、;；]+", text or "")]
    found = list(dict.fromkeys(item for item in items if item))
    if len(found) > limit or any(len(item) > longest for item in found):
        raise ValidationError(
            field="list",
            reason=Reason(
                f"at most {limit} items of {longest} characters", f"最多 {limit} 项，每项最多 {longest} 个字"
            ),
        )
    return found


def fen_of(text: str, field: str) -> int:
    """Yuan as staff type them (``88``, ``88.5``, ``¥88.50``) in fen; empty is 0."""
    cleaned = (text or "").strip().replace("¥", "").replace("￥", "").replace(",", "")
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
    """Fen as yuan with two decimals (``8850`` → ``88.50``); empty for None."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
