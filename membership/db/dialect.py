"""The few SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from membership.db.engine import is_sqlite

_COLUMN = re.compile(r"^[a-z_][a-z0-9_.]*$")


def local_month(column: str, time_zone: str) -> str:
    """SQL for ``'YYYY-MM'`` of a UTC timestamp column in ``time_zone``.

    SQLite has no zone database: it applies the zone's current UTC offset, exact for zones
    without daylight saving such as Asia/Shanghai.
    """
    if not _COLUMN.match(column):
        raise ValueError(f"not a column name: {column!r}")
    zone = ZoneInfo(time_zone)
    if is_sqlite():
        offset = dt.datetime.now(zone).utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds() // 60)
        return f"strftime('%Y-%m', {column}, '{minutes:+d} minutes')"
    return f"to_char({column} AT TIME ZONE '{zone.key}', 'YYYY-MM')"
