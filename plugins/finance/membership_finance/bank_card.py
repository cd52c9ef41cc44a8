"""The bank card (银行卡) as a credential kind of the pack, ``bank_card``: a customer shows or
swipes it at the till, a teller types it. It is a secret kind that keeps its own mask: the kernel
keeps the number's keyed hash (to find the member) and the number sealed under the member's data
key (for a key rotation and the member's own export), and staff see only the first six and last
four digits, ``622202******1234`` (what card rules allow a receipt to print). Numbers are 13 to 19
digits whose last digit is the Luhn check digit (ISO/IEC 7812)."""

from __future__ import annotations

from membership.plugin import CredentialKindSpec, Reason, ValidationError

NAME = "bank_card"


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total


def luhn_ok(digits: str) -> bool:
    """Whether ``digits`` end with their Luhn check digit."""
    return _luhn_sum(digits) % 10 == 0


def check_digit(first: str) -> str:
    """The Luhn check digit that completes ``first`` (for making test and demo cards)."""
    return str(-_luhn_sum(first + "0") % 10)


def normalize(value: str) -> str:
    """A card number as typed, printed or read (spaces, dashes) in its canonical form: digits only;
    refused with the reason when it cannot be a card number."""
    digits = "".join(ch for ch in value if ch not in " -\u3000")
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        raise ValidationError(
            field="value", reason=Reason("a bank card number has 13 to 19 digits", "银行卡号应为 13 到 19 位数字")
        )
    if not luhn_ok(digits):
        raise ValidationError(
            field="value",
            reason=Reason(
                "this is not a valid bank card number (its check digit is wrong): check the number",
                "银行卡号校验不通过，请核对卡号是否输错",
            ),
        )
    return digits


def mask(number: str) -> str:
    """What staff see of a card: its first six and last four digits (``622202******1234``)."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


KIND = CredentialKindSpec(NAME, "银行卡", "bank card", normalize=normalize, mask=mask, secret=True)
