"""Solar and lunar (农历) birthdays.

A member's birth date is stored as a solar date; ``birthday_calendar`` says which calendar the
member celebrates in. Staff often know only the lunar date: :func:`solar_from_lunar` converts it,
refusing dates that do not exist (a 30th in a 29-day month, a leap month the year lacks) rather
than silently moving them.
"""

from __future__ import annotations

import datetime as dt

from lunar_python import Lunar, LunarMonth, LunarYear, Solar

from membership.errors import InvalidBirthday

CALENDARS = ("solar", "lunar")


def solar_from_lunar(year: int, month: int, day: int, leap: bool = False) -> dt.date:
    """The solar date of lunar ``year``-``month``-``day`` (``leap`` for 闰月)."""
    if not 1900 <= year <= 2100 or not 1 <= month <= 12 or not 1 <= day <= 30:
        raise InvalidBirthday(reason=f"lunar {year}-{month}-{day} is out of range")
    if leap and LunarYear.fromYear(year).getLeapMonth() != month:
        raise InvalidBirthday(reason=f"lunar year {year} has no leap month {month}")
    lunar_month = LunarMonth.fromYm(year, -month if leap else month)
    if day > lunar_month.getDayCount():
        raise InvalidBirthday(
            reason=f"lunar {year}-{'闰' if leap else ''}{month} has only {lunar_month.getDayCount()} days"
        )
    result = Lunar.fromYmd(year, -month if leap else month, day).getSolar()
    return dt.date(result.getYear(), result.getMonth(), result.getDay())


def lunar_of(date: dt.date) -> tuple[int, int, bool]:
    """``(month, day, leap)`` of a solar date in the lunar calendar."""
    lunar = Solar.fromYmd(date.year, date.month, date.day).getLunar()
    month = lunar.getMonth()
    return abs(month), lunar.getDay(), month < 0


def check_birthday(birthday: dt.date, calendar: str, today: dt.date) -> None:
    """Refuse a birthday in the future, before 1900, or in an unknown calendar."""
    if calendar not in CALENDARS:
        raise InvalidBirthday(reason=f"calendar must be one of {CALENDARS}")
    if birthday > today:
        raise InvalidBirthday(reason="birthday is in the future")
    if birthday.year < 1900:
        raise InvalidBirthday(reason="birthday is before 1900")
