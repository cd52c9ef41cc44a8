"""Solar and lunar (农历) birthdays.

A member's birth date is stored as a solar date; ``birthday_calendar`` says which calendar the
member celebrates in. Staff often know only the lunar date: :func:`solar_from_lunar` converts it,
refusing dates that do not exist (a 30th in a 29-day month, a leap month the year lacks) rather
than silently moving them.
"""

from __future__ import annotations

import datetime as dt
from calendar import isleap

from lunar_python import Lunar, LunarMonth, LunarYear, Solar

from membership.errors import InvalidBirthday, Reason

CALENDARS = ("solar", "lunar")


def solar_from_lunar(year: int, month: int, day: int, leap: bool = False) -> dt.date:
    """The solar date of lunar ``year``-``month``-``day`` (``leap`` for 闰月)."""
    if not 1900 <= year <= 2100 or not 1 <= month <= 12 or not 1 <= day <= 30:
        raise InvalidBirthday(
            reason=Reason(f"lunar {year}-{month}-{day} is out of range", f"农历 {year}-{month}-{day} 超出范围")
        )
    if leap and LunarYear.fromYear(year).getLeapMonth() != month:
        raise InvalidBirthday(
            reason=Reason(f"lunar year {year} has no leap month {month}", f"农历 {year} 年没有闰 {month} 月")
        )
    lunar_month = LunarMonth.fromYm(year, -month if leap else month)
    if day > lunar_month.getDayCount():
        raise InvalidBirthday(
            reason=Reason(
                f"lunar {year}-{'闰' if leap else ''}{month} has only {lunar_month.getDayCount()} days",
                f"农历 {year} 年{'闰' if leap else ''}{month} 月只有 {lunar_month.getDayCount()} 天",
            )
        )
    result = Lunar.fromYmd(year, -month if leap else month, day).getSolar()
    return dt.date(result.getYear(), result.getMonth(), result.getDay())


def lunar_of(date: dt.date) -> tuple[int, int, bool]:
    """``(month, day, leap)`` of a solar date in the lunar calendar."""
    lunar = Solar.fromYmd(date.year, date.month, date.day).getLunar()
    month = lunar.getMonth()
    return abs(month), lunar.getDay(), month < 0


def birthday_in_year(birthday: dt.date, calendar: str, year: int) -> dt.date:
    """The solar date on which a member born on ``birthday`` celebrates in solar ``year``.

    Solar: the same month and day; 29 February is celebrated on 28 February in a common year.

    Lunar (农历): the first day on or after 1 January of ``year`` with the lunar month and day of
    the birth date (:func:`lunar_of`). Usually that is its date in lunar year ``year`` (which
    starts between 21 January and 20 February). A late 11th/12th-month birthday may instead fall
    in January/February as a date of lunar year ``year - 1``; it may fall twice in ``year``
    (January and December: January is returned, that December is not celebrated) or not at all
    (its next date, in January/February of ``year + 1``, is returned).

    Dates the lunar year lacks move, and only these ways: a leap-month (闰月) birthday in a year
    without that leap month is celebrated on the same day of the ordinary month; a 30th in a
    29-day month on the 29th (both apply to a leap-month 30th).
    """
    if calendar == "solar":
        if (birthday.month, birthday.day) == (2, 29) and not isleap(year):
            return dt.date(year, 2, 28)
        return birthday.replace(year=year)
    if calendar != "lunar":
        raise InvalidBirthday(reason=Reason(f"calendar must be one of {CALENDARS}", f"历法只能是 {CALENDARS} 之一"))
    if not 1901 <= year <= 2100:
        raise InvalidBirthday(
            reason=Reason(
                f"lunar birthdays are supported from 1901 to 2100, not {year}",
                f"农历生日仅支持 1901 到 2100 年，不支持 {year} 年",
            )
        )
    month, day, leap = lunar_of(birthday)
    previous = _celebrated(year - 1, month, day, leap)
    return previous if previous.year == year else _celebrated(year, month, day, leap)


def _celebrated(lunar_year: int, month: int, day: int, leap: bool) -> dt.date:
    """Solar date of lunar ``month``/``day`` in ``lunar_year``, with the documented fallbacks."""
    leap = leap and LunarYear.fromYear(lunar_year).getLeapMonth() == month
    days = LunarMonth.fromYm(lunar_year, -month if leap else month).getDayCount()
    return solar_from_lunar(lunar_year, month, min(day, days), leap)


def check_birthday(birthday: dt.date, calendar: str, today: dt.date) -> None:
    """Refuse a birthday in the future, before 1900, or in an unknown calendar."""
    if calendar not in CALENDARS:
        raise InvalidBirthday(reason=Reason(f"calendar must be one of {CALENDARS}", f"历法只能是 {CALENDARS} 之一"))
    if birthday > today:
        raise InvalidBirthday(reason=Reason("birthday is in the future", "不能是将来的日期"))
    if birthday.year < 1900:
        raise InvalidBirthday(reason=Reason("birthday is before 1900", "不能早于 1900 年"))
