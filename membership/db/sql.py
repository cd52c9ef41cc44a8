"""Raw, parameterised SQL for the hot paths (set-based statements Piccolo's builder cannot say).

Placeholders are ``{}``; Piccolo compiles them to ``?`` (SQLite) or ``$n`` (PostgreSQL), so one
statement serves both. Inside a use case the statement joins its transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator
from typing import Any

from piccolo.querystring import QueryString

from membership.db.engine import current_engine

_recording: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("recording", default=None)


@contextlib.contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Collect the SQL this context (and tasks it starts) runs through :func:`fetch` and
    :func:`execute`: tests bound the statements of a page or a use case with it."""
    statements: list[str] = []
    token = _recording.set(statements)
    try:
        yield statements
    finally:
        _recording.reset(token)


def _record(sql: str) -> None:
    statements = _recording.get()
    if statements is not None:
        statements.append(sql)


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run ``sql`` and return every row as a dict."""
    _record(sql)
    rows = await current_engine().run_querystring(QueryString(sql, *args))
    return [dict(row) for row in rows or ()]


async def fetch_one(sql: str, *args: Any) -> dict[str, Any] | None:
    """Run ``sql`` and return its first row, or None."""
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def execute(sql: str, *args: Any) -> None:
    """Run a statement whose rows (if any) are not needed."""
    _record(sql)
    await current_engine().run_querystring(QueryString(sql, *args))


def placeholders(values: Iterable[Any]) -> str:
    """``{}, {}, …``: one placeholder per value, for ``IN (…)`` lists and multi-row ``VALUES``."""
    return ", ".join("{}" for _ in values)


def json_column(value: Any) -> Any:
    """A JSON column's value: SQLite and asyncpg return the text, Piccolo may return it decoded."""
    return json.loads(value) if isinstance(value, str) else value
