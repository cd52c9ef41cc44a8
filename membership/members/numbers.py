"""Member numbers: 12 digits, random (no global counter), the last a Luhn check digit."""

from __future__ import annotations

import secrets


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def new_member_no() -> str:
    """A fresh member number: a non-zero first digit, 10 random digits, a check digit."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(10))
    return body + luhn_digit(body)


def is_valid_member_no(value: str) -> bool:
    """True when ``value`` is 12 digits with a correct check digit (catches typos at the till)."""
    return len(value) == 12 and value.isdigit() and luhn_digit(value[:-1]) == value[-1]
