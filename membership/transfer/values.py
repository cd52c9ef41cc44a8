"""Reading one cell of a member file: phones, dates (solar or lunar), money, whole numbers,
gender, tags. Each reader takes the cell's text and returns the value the kernel stores, or raises
a typed error naming the column, in English and Chinese.

Money is never a float: a stored value is read with :class:`~decimal.Decimal` and turned into
minor units (fen) exactly; ``12.345`` is refused, not rounded.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

import phonenumbers
from lunar_python import LunarYear, Solar

from membership.errors import InvalidBirthday, InvalidPhone, Reason, ValidationError
from membership.ledger.service import MAX_AMOUNT
from membership.members import personal_data as pd
from membership.members.birthdays import solar_from_lunar
from membership.transfer.errors import InvalidAmount, InvalidDate, InvalidWholeNumber

_PHONE_NOISE = re.compile(r"[\s\-()（）.]")
_CN_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
_mobile_blocks: dict[str, bool] = {}
_MOBILE_BLOCKS_KEPT = 200_000


def phone(text: str) -> str:
    """A phone number in E.164 form (``+8613812345678``); ``InvalidPhone`` when it is not one.

    A mainland mobile number (the usual case: 11 digits from 13 to 19, with or without +86) is
    checked by its 7-digit block (号段): numbers are allocated in blocks, so whether a block is
    valid is asked of ``phonenumbers`` once per block, not once per member (a fifth of the
    import's time otherwise). Any other number goes through ``phonenumbers`` as enrolment does."""
    digits = _PHONE_NOISE.sub("", text)
    mobile = _CN_MOBILE.fullmatch(digits)
    if mobile is None:
        return pd.normalize_phone(text)
    number = mobile[1]
    block = number[:7]
    valid = _mobile_blocks.get(block)
    if valid is None:
        if len(_mobile_blocks) >= _MOBILE_BLOCKS_KEPT:
            _mobile_blocks.clear()
        parsed = phonenumbers.PhoneNumber(country_code=86, national_number=int(number))
        valid = _mobile_blocks[block] = phonenumbers.is_valid_number(parsed)
    if not valid:
        raise InvalidPhone(value=text)
    return "+86" + number


# -- dates ---------------------------------------------------------------------------------------

_NUMERIC_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(闰)?\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_LUNAR_MARK = re.compile(r"^\s*[(（]?\s*(农历|阴历|lunar)\s*[)）]?\s*|\s*[(（]?\s*(农历|阴历|lunar)\s*[)）]?\s*$", re.I)
_LUNAR_WORDS = re.compile(
    r"(\d{4})\s*年\s*(闰)?\s*([正一二三四五六七八九十冬腊]{1,3})\s*月\s*([初十廿卅一二三四五六七八九]{2,3})\s*日?"
)
_MONTHS = {"正": 1, "冬": 11, "腊": 12}
_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
EXCEL_EPOCH = dt.date(1899, 12, 30)
LUNAR_WORDS = ("农历", "阴历", "lunar", "l", "农", "阴")
SOLAR_WORDS = ("公历", "阳历", "新历", "solar", "s", "公", "阳", "")


def _chinese_month(word: str) -> int:
    if word in _MONTHS:
        return _MONTHS[word]
    if word == "十一":
        return 11
    if word == "十二":
        return 12
    return _DIGITS.get(word, 0)


def _chinese_day(word: str) -> int:
    if word.startswith("初"):
        return _DIGITS.get(word[1:], 0)
    if word in ("二十", "廿十"):
        return 20
    if word in ("三十", "卅十"):
        return 30
    if word.startswith("十"):
        return 10 + _DIGITS.get(word[1:], 0) if len(word) == 2 else 0
    if word.startswith(("廿", "二十")):
        return 20 + _DIGITS.get(word[-1], 0)
    return 0


def date_parts(column: str, text: str) -> tuple[int, int, int, bool]:
    """``(year, month, day, leap)`` written in a cell: 1990-05-17, 1990/5/17, 1990.5.17, 19900517,
    1990年5月17日, a time after it (Excel's CSV writes one), an Excel day number (32880), and for
    lunar dates 1990年四月十五, 1990年腊月初八 and a leap month (1990-闰5-17, 1990年闰五月初一)."""
    value = _TIME_PART.sub("", text.strip())
    if value.isdigit() and len(value) == 5:  # an Excel serial day the workbook did not format as a date
        day = EXCEL_EPOCH + dt.timedelta(days=int(value))
        return day.year, day.month, day.day, False
    found = _NUMERIC_DATE.fullmatch(value) or _COMPACT_DATE.fullmatch(value)
    if found:
        if found.re is _COMPACT_DATE:
            return int(found[1]), int(found[2]), int(found[3]), False
        return int(found[1]), int(found[3]), int(found[4]), bool(found[2])
    words = _LUNAR_WORDS.fullmatch(value)
    if words:
        month, day = _chinese_month(words[3]), _chinese_day(words[4])
        if month and day:
            return int(words[1]), month, day, bool(words[2])
    raise InvalidDate(
        column=column,
        value=text,
        reason=Reason("write it as 1990-05-17", "请写成 1990-05-17 的格式"),
    )


@functools.lru_cache(maxsize=512)
def _lunar_year(year: int) -> dict[int, tuple[dt.date, int]]:
    """Lunar year ``year``'s months (a leap month negative) → (solar date of its first day, days)."""
    months = {}
    for month in LunarYear.fromYear(year).getMonthsInYear():
        if month.getYear() == year:
            first = Solar.fromJulianDay(month.getFirstJulianDay())
            months[month.getMonth()] = (dt.date(first.getYear(), first.getMonth(), first.getDay()), month.getDayCount())
    return months


def lunar_to_solar(year: int, month: int, day: int, leap: bool = False) -> dt.date:
    """:func:`membership.members.birthdays.solar_from_lunar`, from a table of each lunar year's
    months (one calendar computation per year instead of one per member: a lunar birthday cost
    10 ms); a date that does not exist is refused by that function, with its reasons."""
    if 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 30:
        found = _lunar_year(year).get(-month if leap else month)
        if found is not None and day <= found[1]:
            return found[0] + dt.timedelta(days=day - 1)
    return solar_from_lunar(year, month, day, leap)  # raises InvalidBirthday naming the problem


def lunar_marked(text: str) -> tuple[str, bool]:
    """The date text without a 农历/阴历/lunar marker, and whether it had one."""
    stripped = _LUNAR_MARK.sub("", text)
    return stripped, stripped != text


def calendar_of(column: str, text: str) -> str | None:
    """``lunar`` or ``solar`` from a calendar column's cell (农历/阴历/lunar or 公历/阳历/solar);
    None for an empty cell."""
    word = text.strip().lower()
    if word in LUNAR_WORDS or word in ("是", "y", "yes", "1", "true"):
        return "lunar"
    if word in SOLAR_WORDS or word in ("否", "n", "no", "0", "false"):
        return None if not word else "solar"
    raise InvalidBirthday(
        reason=Reason(
            f"{column}: {text!r} is neither lunar (农历) nor solar (公历)", f"{column}：“{text}” 既不是农历也不是公历"
        )
    )


def birthday(column: str, text: str, lunar: bool) -> tuple[dt.date, str]:
    """``(solar date, calendar)`` of a birthday cell. A lunar date (``lunar``: the calendar column
    says so; or marked 农历 in the cell; or in a leap month) is converted to its solar date,
    refusing a day the lunar month lacks rather than moving it."""
    text, marked = lunar_marked(text)
    year, month, day, leap = date_parts(column, text)
    if lunar or marked or leap:
        return lunar_to_solar(year, month, day, leap), "lunar"
    try:
        return dt.date(year, month, day), "solar"
    except ValueError:
        raise InvalidDate(
            column=column, value=text, reason=Reason("no such day in the calendar", "日历中没有这一天")
        ) from None


def joined_at(column: str, text: str, zone: dt.tzinfo) -> dt.datetime:
    """The moment a member joined: the cell's date (and time, when given) in the program's zone, as UTC."""
    value = text.strip()
    year, month, day, _ = date_parts(column, value)
    clock = _TIME_PART.search(value)
    try:
        moment = dt.datetime(year, month, day, tzinfo=zone)
        if clock:
            parts = [float(p) for p in clock[0].strip(" T").split(":")]
            moment += dt.timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2] if len(parts) > 2 else 0)
    except ValueError:
        raise InvalidDate(
            column=column, value=text, reason=Reason("no such day in the calendar", "日历中没有这一天")
        ) from None
    return moment.astimezone(dt.UTC)


# -- money and numbers ---------------------------------------------------------------------------

_PLAIN_AMOUNT = re.compile(r"(\d+)(?:\.(\d+))?")
_MONEY_NOISE = re.compile(r"[\s,，¥￥元]|^CNY|^RMB", re.I)


def minor_units(column: str, text: str, minor_per_unit: int = 100, currency: str = "CNY") -> int:
    """An amount written in yuan (``12.5``, ``1,234.50``, ``¥88``) as fen, exactly: at most two
    decimals (the currency's), never negative, never a float on the way."""
    digits = len(str(minor_per_unit)) - 1
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain and len(plain[2] or "") <= digits and len(plain[1]) < 15:  # 88, 88.5, 88.50: whole and decimal digits
        fraction = (plain[2] or "").ljust(digits, "0")
        minor = int(plain[1]) * minor_per_unit + (int(fraction) if fraction else 0)
        if minor <= MAX_AMOUNT:
            return minor
    unit = Reason("yuan", "元") if currency == "CNY" else Reason(currency, currency)
    try:
        amount = Decimal(_MONEY_NOISE.sub("", text))
    except InvalidOperation:
        amount = Decimal("NaN")
    minor = amount * minor_per_unit if amount.is_finite() else amount
    if not minor.is_finite() or minor < 0 or minor != minor.to_integral_value() or minor > MAX_AMOUNT:
        raise InvalidAmount(column=column, value=text, unit=unit, digits=digits)
    return int(minor)


def whole_number(column: str, text: str) -> int:
    """Points or growth: a whole number of 0 or more (``1,200`` and ``1200.0`` too)."""
    if text.isdigit() and text.isascii() and int(text) <= MAX_AMOUNT:
        return int(text)
    try:
        value = Decimal(_MONEY_NOISE.sub("", text))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value != value.to_integral_value() or value > MAX_AMOUNT:
        raise InvalidWholeNumber(column=column, value=text)
    return int(value)


# -- profile words -------------------------------------------------------------------------------

_GENDERS = {
    "男": "male",
    "男性": "male",
    "先生": "male",
    "male": "male",
    "m": "male",
    "man": "male",
    "1": "male",
    "女": "female",
    "女性": "female",
    "女士": "female",
    "female": "female",
    "f": "female",
    "woman": "female",
    "2": "female",
    "": "unknown",
    "未知": "unknown",
    "保密": "unknown",
    "unknown": "unknown",
    "0": "unknown",
    "-": "unknown",
}
_TAG_SEPARATORS = re.compile(r"[,，、;；|/]")


def gender(column: str, text: str) -> str:
    """``male``, ``female`` or ``unknown`` from 男/女/male/F/1/2/保密…"""
    found = _GENDERS.get(text.strip().lower())
    if found is None:
        raise ValidationError(
            field=column, reason=Reason(f"{text!r} is not 男/女 (male/female)", f"“{text}” 不是 男/女")
        )
    return found


def tags(text: str) -> list[str]:
    """Tags separated by commas (either width), 、, semicolons, | or /; trimmed, once each."""
    found: list[str] = []
    for tag in _TAG_SEPARATORS.split(text) if text else ():
        tag = tag.strip()
        if tag and tag not in found:
            found.append(tag)
    return found


def cards(text: str) -> list[str]:
    """One or more card numbers in a cell (separated as tags are)."""
    return tags(text)
