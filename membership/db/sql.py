"""Raw, parameterised SQL for the hot paths (set-based statements Piccolo's builder cannot say).

Placeholders are ``{}``; Piccolo compiles them to ``?`` (SQLite) or ``$n`` (PostgreSQL), so one
statement serves both. Inside a use case the statement joins its transaction.
"""

from __future__ import annotations

import json
from typing import Any

from piccolo.querystring import QueryString

from membership.db.engine import current_engine


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run ``sql`` and return every row as a dict."""
    rows = await current_engine().run_querystring(QueryString(sql, *args))
    return [dict(row) for row in rows or ()]


async def fetch_one(sql: str, *args: Any) -> dict[str, Any] | None:
    """Run ``sql`` and return its first row, or None."""
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def execute(sql: str, *args: Any) -> None:
    """Run a statement whose rows (if any) are not needed."""
    await current_engine().run_querystring(QueryString(sql, *args))


def json_column(value: Any) -> Any:
    """A JSON column's value: SQLite and asyncpg return the text, Piccolo may return it decoded."""
    return json.loads(value) if isinstance(value, str) else value
