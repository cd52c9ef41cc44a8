"""Raw, parameterised SQL for the hot paths (set-based statements Piccolo's builder cannot say).

Placeholders are ``{}``; Piccolo compiles them to ``?`` (SQLite) or ``$n`` (PostgreSQL), so one
statement serves both. Inside a use case the statement joins its transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from piccolo.querystring import QueryString

from membership.db.engine import current_engine, is_sqlite
from membership.errors import Reason, ValidationError

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


async def fetch_page(sql: str, *args: Any, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Page ``page`` (from 1) of the rows ``sql`` lists in its ``ORDER BY``, and how many it lists
    in all. ``sql`` selects ``COUNT(*) OVER () AS listed`` too: one statement gives both, but for a
    page past the last, whose count comes from the first row."""
    if page < 1 or page_size < 1:
        raise ValidationError(field="page", reason=Reason("page and page_size from 1", "page 与 page_size 须从 1 起"))
    rows = await fetch(sql + " LIMIT {} OFFSET {}", *args, page_size, (page - 1) * page_size)
    counted = rows or (await fetch(sql + " LIMIT 1", *args) if page > 1 else [])
    total = int(counted[0]["listed"]) if counted else 0
    return [{key: value for key, value in row.items() if key != "listed"} for row in rows], total


async def execute(sql: str, *args: Any) -> None:
    """Run a statement whose rows (if any) are not needed."""
    _record(sql)
    await current_engine().run_querystring(QueryString(sql, *args))


async def insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns``' order) into ``table`` in the current transaction
    by the driver's bulk path: one prepared ``INSERT`` run per row by ``executemany`` on SQLite
    (values as stored: UUIDs and times as text), binary ``COPY`` on PostgreSQL (UUIDs as text or
    UUIDs, times as datetimes). For loads of thousands of rows: nothing is parsed per row."""
    if not rows:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_rows() outside a transaction")
    _record(f"INSERT INTO {table} (bulk)")
    if is_sqlite():
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        transaction.connection.connection.executemany(sql, rows)
    else:
        await transaction.connection.copy_records_to_table(table, records=rows, columns=list(columns))


def placeholders(values: Iterable[Any]) -> str:
    """``{}, {}, …``: one placeholder per value, for ``IN (…)`` lists and multi-row ``VALUES``."""
    return ", ".join("{}" for _ in values)


def json_column(value: Any) -> Any:
    """A JSON column's value: SQLite and asyncpg return the text, Piccolo may return it decoded."""
    return json.loads(value) if isinstance(value, str) else value


def any_of(column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """(condition, argument): ``column`` is one of ``values``, bound as one parameter however many
    values there are (a placeholder per value costs a bind each, and Piccolo compiles each one):
    ``= ANY(array)`` on PostgreSQL, ``IN (SELECT value FROM json_each(text))`` on SQLite."""
    if is_sqlite():
        return f"{column} IN (SELECT value FROM json_each({{}}))", json.dumps([str(v) for v in values])
    return f"{column} = ANY({{}})", list(values)


def id_set(ids: Sequence[Any]) -> tuple[str, Any]:
    """(query, argument): a one-column (``id``) query of the UUIDs ``ids``, bound as one parameter,
    for a ``WITH`` clause that several conditions share."""
    if is_sqlite():
        return "SELECT value AS id FROM json_each({})", json.dumps([str(i) for i in ids])
    return "SELECT unnest(CAST({} AS uuid[])) AS id", list(ids)


def rows_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """(table, arguments): ``rows`` as a derived table ``t`` to select from, bound as one parameter
    per column on PostgreSQL (``unnest`` of arrays) and one on SQLite (a JSON array of rows read by
    ``json_each``). ``columns`` are (name, PostgreSQL type) pairs; values are text, integers or
    None (UUIDs pass as text)."""
    names = ", ".join(name for name, _ in columns)
    if is_sqlite():
        picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
        return f"(SELECT {picks} FROM json_each({{}})) AS t", [json.dumps(rows, default=str)]
    arrays = ", ".join(f"CAST({{}} AS {kind}[])" for _, kind in columns)
    return f"unnest({arrays}) AS t({names})", [list(column) for column in zip(*rows, strict=True)]


def escape_like(text: str) -> str:
    """``text`` matched literally by ``LIKE … ESCAPE '\\'``: its ``%``, ``_`` and backslashes
    escaped (a search for ``%`` finds a percent sign, not everyone)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
