"""The few SQL expressions that differ between SQLite and PostgreSQL, for the reports' set-based
queries over the kernel's tables (one statement serves both engines otherwise)."""

from __future__ import annotations

import datetime as dt
import re

from membership.plugin import ProgramConfig, is_sqlite

_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")


def _column(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def local_month(column: str, program: ProgramConfig) -> str:
    """SQL for ``'YYYY-MM'`` of a UTC timestamp column in the program's zone. SQLite has no zone
    database: it applies the zone's current offset, exact for zones without daylight saving such
    as Asia/Shanghai."""
    column = _column(column)
    if is_sqlite():
        offset = dt.datetime.now(program.zone).utcoffset() or dt.timedelta()
        return f"strftime('%Y-%m', {column}, '{int(offset.total_seconds() // 60):+d} minutes')"
    return f"to_char({column} AT TIME ZONE '{program.zone.key}', 'YYYY-MM')"


def before_days_after(earlier: str, later: str) -> str:
    """SQL condition: timestamp ``earlier`` is before timestamp ``later`` plus a whole number of
    days, bound as the one parameter ``{}``."""
    earlier, later = _column(earlier), _column(later)
    if is_sqlite():
        return f"julianday({earlier}) < julianday({later}) + {{}}"
    return f"{earlier} < {later} + {{}} * INTERVAL '1 day'"
