"""The few SQL expressions that differ between SQLite and PostgreSQL, for the pack's set-based
queries (one statement serves both engines otherwise)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from membership.plugin import ProgramConfig, is_sqlite

_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")


def _column(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def local_day(column: str, program: ProgramConfig) -> str:
    """SQL for the date of a UTC timestamp column in the program's time zone. SQLite has no zone
    database: it applies the zone's current offset, exact for zones without daylight saving such
    as Asia/Shanghai."""
    column = _column(column)
    if is_sqlite():
        offset = dt.datetime.now(ZoneInfo(program.time_zone)).utcoffset() or dt.timedelta()
        return f"date({column}, '{int(offset.total_seconds() // 60):+d} minutes')"
    return f"CAST(({column} AT TIME ZONE '{ZoneInfo(program.time_zone).key}') AS date)"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from date ``earlier`` to date ``later``."""
    later, earlier = _column(later), _column(earlier)
    if is_sqlite():
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def plus_days(day: str, days: str) -> str:
    """SQL for date ``day`` plus the integer ``days``."""
    day, days = _column(day), _column(days)
    if is_sqlite():
        return f"date({day}, '+' || {days} || ' days')"
    return f"({day} + {days})"


def one_of(column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """(condition, argument): ``column`` is one of ``values``, bound as one parameter."""
    column = _column(column)
    if is_sqlite():
        return f"{column} IN (SELECT value FROM json_each({{}}))", json.dumps([str(v) for v in values])
    return f"{column} = ANY({{}})", [str(v) for v in values]


def as_date(value: Any) -> dt.date:
    """A date read from SQL: SQLite returns computed dates as text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
