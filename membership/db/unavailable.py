"""Telling "the database is not there right now" from a bug.

A PostgreSQL server that is down, restarting or out of connections (and an SQLite file that is
locked past the busy timeout or cannot be opened) fails a request through no fault of its own:
the API answers 503 with ``Retry-After`` (:class:`DatabaseUnavailable`) instead of a 500, and a
client retries. The request's transaction never committed, so nothing was changed.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from typing import ClassVar

from membership.errors import MembershipError

RETRY_AFTER_SECONDS = 5
# SQLSTATE classes and codes of a server that cannot serve: connection exceptions (08…),
# admin/crash shutdown and "cannot connect now" (57P01-57P03), too many connections (53300)
_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN}
_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH}


class DatabaseUnavailable(MembershipError):
    """The database could not be reached; retry after ``retry_after`` seconds."""

    code: ClassVar[str] = "database_unavailable"
    status: ClassVar[int] = 503
    message_en: ClassVar[str] = (
        "The database cannot be reached right now; nothing was changed. Retry in {retry_after} s."
    )
    message_zh: ClassVar[str] = "数据库暂时无法连接，数据未做修改。请 {retry_after} 秒后重试。"


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the database is unreachable
    rather than that the statement was wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unreachable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):  # refused, reset, timed out, no host
        return True
    if isinstance(exc, OSError) and (exc.errno in _ERRNOS or str(exc).startswith("Multiple exceptions")):
        return True  # asyncio's connect to each of a host's addresses failed
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) in _SQLITE_CODES
    module = type(exc).__module__ or ""
    if not module.startswith("asyncpg"):
        return False
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if sqlstate.startswith(_SQLSTATES):
        return True
    # the client side: a pooled connection that was closed under the request
    return type(exc).__name__ == "InterfaceError" and "connection" in str(exc) and "closed" in str(exc)
