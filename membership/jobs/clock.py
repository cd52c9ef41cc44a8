"""The clock of a job run: the real time, or the time an operator names (``membership jobs run
NAME --at 2027-01-01T00:00``) to catch up after downtime or to try a year of rules in seconds.

A job takes every time it needs from the ``now`` it is given (:meth:`membership.jobs.interface.Job.run`),
never from the system clock, so running it "as of" a time does what its scheduled run at that time
would have done. Leases, and the run's ``started_at``/``finished_at``, stay on the real clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from membership.errors import Reason, ValidationError

FIRST_YEAR, LAST_YEAR = 2000, 2199
"""The years an "as of" time may fall in (beyond them a job's date arithmetic would overflow)."""

FORMAT_EN = "write it as 2027-01-01T00:00 (or 2027-01-01, or with an offset: 2027-01-01T00:00+08:00)"
FORMAT_ZH = "请写成 2027-01-01T00:00（或 2027-01-01，或带时差：2027-01-01T00:00+08:00）"


def _refuse(text: str, en: str, zh: str) -> ValidationError:
    return ValidationError(field="--at", reason=Reason(f"{text!r} {en}", f"“{text}” {zh}"))


def parse_as_of(text: str, time_zone: str) -> dt.datetime:
    """The UTC moment ``text`` names: an ISO 8601 time (``2027-01-01T00:00``, ``2027-01-01 00:00``,
    a date alone for its midnight), read in ``time_zone`` when it has no offset (``+08:00``,
    ``Z``). ``ValidationError`` with a one-line reason for anything else: not a time, a year
    outside 2000–2199, or a local time the zone skips (clocks going forward) or has twice
    (clocks going back: give the offset).

    >>> parse_as_of("2027-01-01T00:00", "Asia/Shanghai").isoformat()
    '2026-12-31T16:00:00+00:00'
    >>> parse_as_of("2027-01-01T00:00Z", "Asia/Shanghai").isoformat()
    '2027-01-01T00:00:00+00:00'
    """
    raw = text.strip()
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _refuse(text, f"is not a time: {FORMAT_EN}", f"不是有效的时间：{FORMAT_ZH}") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise _refuse(
            text,
            f"is out of range: the year must be from {FIRST_YEAR} to {LAST_YEAR}",
            f"超出范围：年份须在 {FIRST_YEAR} 到 {LAST_YEAR} 之间",
        )
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC)
    zone = ZoneInfo(time_zone)
    first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != moment:
            raise _refuse(
                text,
                f"does not exist in {time_zone} (the clocks jump over it): pick another time or give an offset",
                f"在 {time_zone} 不存在（时钟跳过了这段时间）：请换一个时间或注明时差",
            )
        raise _refuse(
            text,
            f"happens twice in {time_zone} (the clocks go back): give the offset, e.g. {raw}{_offset(first)}",
            f"在 {time_zone} 出现两次（时钟回拨）：请注明时差，如 {raw}{_offset(first)}",
        )
    return first.astimezone(dt.UTC)


def _offset(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta()
    sign = "-" if offset < dt.timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def describe_as_of(as_of: dt.datetime, time_zone: str, now: dt.datetime | None = None) -> str:
    """One line for the operator: the moment in the zone and in UTC, and how far it is from now.

    >>> at = dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    >>> describe_as_of(at, "Asia/Shanghai", now=at - dt.timedelta(days=30)).split(" / ")[1]
    'as of 2027-01-01 00:00 Asia/Shanghai (2026-12-31 16:00 UTC, 30 days ahead of now)'
    """
    now = now or dt.datetime.now(dt.UTC)
    local = as_of.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")
    utc = as_of.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    days = (as_of - now) / dt.timedelta(days=1)
    if abs(days) < 1:
        zh, en = "", ""
    elif days > 0:
        zh, en = f"，比现在晚 {int(days)} 天", f", {int(days)} days ahead of now"
    else:
        zh, en = f"，比现在早 {int(-days)} 天", f", {int(-days)} days before now"
    return f"按 {local} {time_zone} 运行（{utc} UTC{zh}） / as of {local} {time_zone} ({utc} UTC{en})"
