"""The month a lunar (农历) birthday is celebrated in a solar year, for many members at once.

:func:`membership.members.birthdays.birthday_in_year` converts one date through the lunar
calendar library (about 10 ms). Segments on birthday months need it for every member with a
lunar birthday at each refresh, so this module reads the library once per process into a table of
lunar months (the solar day each begins, its length, whether it is a leap month: 200 years,
about 2,500 rows) and answers from that table, with the same rules (tested equal).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools

from lunar_python import LunarYear

FIRST_YEAR, LAST_YEAR = 1900, 2100
JULIAN_OF_ORDINAL = 1721424.5  # the Julian day of dt.date.min's midnight, less one


@functools.cache
def _months() -> tuple[list[int], list[tuple[int, int, bool, int]]]:
    """(first solar ordinal of each lunar month in order; (lunar year, month, leap, days) of it)."""
    rows = []
    for year in range(FIRST_YEAR - 1, LAST_YEAR + 2):
        for month in LunarYear.fromYear(year).getMonths():
            if month.getYear() != year:
                continue
            start = int(month.getFirstJulianDay() - JULIAN_OF_ORDINAL)
            rows.append((start, month.getYear(), abs(month.getMonth()), month.getMonth() < 0, month.getDayCount()))
    rows.sort()
    return [r[0] for r in rows], [r[1:] for r in rows]


@functools.cache
def _month_starts() -> dict[tuple[int, int, bool], tuple[int, int]]:
    """(lunar year, month, leap) → (first solar ordinal, days)."""
    starts, months = _months()
    return {(year, month, leap): (start, days) for start, (year, month, leap, days) in zip(starts, months, strict=True)}


def _lunar_of(birthday: dt.date) -> tuple[int, int, bool]:
    starts, months = _months()
    ordinal = birthday.toordinal()
    at = bisect.bisect_right(starts, ordinal) - 1
    _, month, leap, _ = months[at]
    return month, ordinal - starts[at] + 1, leap


def _celebrated(lunar_year: int, month: int, day: int, leap: bool) -> dt.date:
    table = _month_starts()
    if leap and (lunar_year, month, True) not in table:
        leap = False  # a leap-month birthday in a year without that leap month: the ordinary month
    start, days = table[(lunar_year, month, leap)]
    return dt.date.fromordinal(start + min(day, days) - 1)


@functools.lru_cache(maxsize=65_536)
def lunar_birthday_in_year(birthday: dt.date, year: int) -> dt.date:
    """The solar date in ``year`` of a lunar birthday born on solar date ``birthday`` (the date
    :func:`~membership.members.birthdays.birthday_in_year` gives, read from the table)."""
    month, day, leap = _lunar_of(birthday)
    previous = _celebrated(year - 1, month, day, leap)
    return previous if previous.year == year else _celebrated(year, month, day, leap)


def lunar_birthday_month(birthday: dt.date, year: int) -> int:
    """The solar month in ``year`` of a lunar birthday (:func:`lunar_birthday_in_year`)."""
    return lunar_birthday_in_year(birthday, year).month
