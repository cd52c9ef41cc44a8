"""The filters reports share: a period of local dates and a store.

``params["start"]`` and ``params["end"]`` are local ISO dates, both inclusive (either may be
absent: open); ``params["months"]`` (the last months, this one included) is the older way to ask
for a period. ``params["store_id"]`` limits a report to one store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.errors import Reason, ValidationError
from membership.org.service import ProgramConfig

BEGINNING = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
ENDLESS = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Period:
    """UTC moments ``since`` (inclusive) and ``until`` (exclusive) of a period of local dates."""

    since: dt.datetime
    until: dt.datetime

    def local_dates(self, program: ProgramConfig) -> tuple[dt.date, dt.date]:
        """The period's first and last local date (today for an open end)."""
        today = dt.datetime.now(program.zone).date()
        last = (
            today
            if self.until == ENDLESS
            else (self.until - dt.timedelta(microseconds=1)).astimezone(program.zone).date()
        )
        first = self.since.astimezone(program.zone).date() if self.since != BEGINNING else dt.date(2000, 1, 1)
        return first, last


def _date(params: dict[str, Any], key: str) -> dt.date | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(
            field=key, reason=Reason("a date such as 2026-05-17", "应为日期，如 2026-05-17")
        ) from None


def month_start(program: ProgramConfig, months_back: int = 0) -> dt.datetime:
    """The UTC moment the local month ``months_back`` months before this one began."""
    today = dt.datetime.now(program.zone).date()
    index = today.year * 12 + today.month - 1 - months_back
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=program.zone).astimezone(dt.UTC)


def _midnight(program: ProgramConfig, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=program.zone).astimezone(dt.UTC)


def period(program: ProgramConfig, params: dict[str, Any]) -> Period:
    """The period ``params`` ask for: ``start``..``end`` (local, inclusive), else the last
    ``months`` local months (this one included), else all time."""
    start, end = _date(params, "start"), _date(params, "end")
    if start and end and start > end:
        raise ValidationError(field="end", reason=Reason("must not be before start", "结束日期不能早于开始日期"))
    months = int(params.get("months") or 0)
    if start is not None:
        since = _midnight(program, start)
    elif months > 0:
        since = month_start(program, months - 1)
    else:
        since = BEGINNING
    until = _midnight(program, end + dt.timedelta(days=1)) if end else ENDLESS
    return Period(since, until)


def store_of(params: dict[str, Any]) -> uuid.UUID | None:
    """The store ``params`` limit a report to, or None for every store."""
    value = params.get("store_id")
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(field="store_id", reason=Reason("a store's id", "应为门店 ID")) from None
