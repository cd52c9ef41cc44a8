"""The resident ID card (居民身份证) as a credential kind of the pack, ``id_card``: a visitor shows
it at the gate instead of a card. It is a secret kind: the kernel keeps only its keyed hash (and
the value sealed under the member's data key, for a key rotation and the member's own export),
never shows it, and finds the member by it. Numbers are checked as GB 11643 says: 17 digits, a
date of birth, and a check character."""

from __future__ import annotations

import datetime as dt

from membership.plugin import CredentialKindSpec, Reason, ValidationError

NAME = "id_card"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are ``first17``."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize(value: str) -> str:
    """An ID number as typed or read (spaces, a lower-case x) in its canonical form; refused with
    the reason when it cannot be one."""
    number = "".join(value.split()).upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValidationError(
            field="value", reason=Reason("an ID number has 18 characters", "身份证号码应为 18 位（末位可为 X）")
        )
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            field="value", reason=Reason("the date of birth in the number is wrong", "身份证号码中的出生日期有误")
        ) from None
    if check_character(number[:17]) != number[17]:
        raise ValidationError(field="value", reason=Reason("wrong check character", "身份证号码校验位不符"))
    return number


KIND = CredentialKindSpec(NAME, "身份证", "ID card", normalize=normalize, secret=True)
