"""Amounts as staff type and read them: yuan (the currency's units), never fen."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import get_currency_precision

from membership.errors import Reason, ValidationError


def parse_amount(text: str, currency: str = "CNY", field: str = "amount", minimum: int = 1) -> int:
    """A typed amount (``"12.5"``, ``"12.50"``, ``"¥1,200"``) in ``currency``'s minor units,
    exactly (no floats), at least ``minimum``; errors name ``field``."""
    currency_digits = get_currency_precision(currency)
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", cleaned):  # digits only: no "1e5", "NaN" or "-3"
        raise ValidationError(field=field, reason=Reason("a number such as 12.50", "应为数字，如 12.50"))
    minor = Decimal(cleaned).scaleb(currency_digits)
    if minor != minor.to_integral_value() or minor < minimum:
        if minimum <= 0:
            reason = Reason(
                f"0 or more with at most {currency_digits} decimals", f"应为 ≥ 0 的金额，最多 {currency_digits} 位小数"
            )
        else:
            reason = Reason(
                f"a positive amount with at most {currency_digits} decimals",
                f"应为正数金额，最多 {currency_digits} 位小数",
            )
        raise ValidationError(field=field, reason=reason)
    return int(minor)


def amount_text(minor: int, currency: str = "CNY") -> str:
    """``minor`` units as one types them, so :func:`parse_amount` reads them back: ``"12.50"``."""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency)))
