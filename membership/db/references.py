"""Foreign-key checks that a job's statement proves itself (PostgreSQL).

PostgreSQL checks each foreign key of each row a statement inserts with a query of its own, at the
end of the statement: two per ledger entry, a third of the 1M-member points expiry statement's
time. A job statement whose every reference is to a row it locked itself, or to a row it inserted,
proves those references: a locked row can be neither deleted nor given another key before the
commit.

Such a statement may run inside :func:`proven_references`, which sets ``session_replication_role``
to ``replica`` for that statement only (as a logical replication worker applies rows): the
foreign-key checks and the triggers (the kernel's tables have none) are skipped; CHECK and NOT
NULL constraints and unique indexes still hold. Only a superuser, or a role granted ``SET ON
PARAMETER session_replication_role`` (PostgreSQL 15+), may set it: the job asks once per run
(:func:`may_skip_reference_checks`) and otherwise keeps the checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from membership.db.engine import current_engine, is_sqlite
from membership.db.sql import execute


async def may_skip_reference_checks() -> bool:
    """Whether this database's role may run a statement without its foreign-key checks: tried on
    a pooled connection of its own, outside any transaction of the caller, in a transaction that
    nothing outlives (False on SQLite, whose checks cost little, and on an engine or role that
    refuses the setting)."""
    if is_sqlite():
        return False
    import asyncpg

    async with current_engine().pool.acquire() as connection:
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
        except asyncpg.PostgresError:  # permission denied, or an engine without the setting
            return False
    return True


@contextlib.asynccontextmanager
async def proven_references(allowed: bool) -> AsyncIterator[None]:
    """Run the statement inside, in the caller's transaction, without foreign-key checks when
    ``allowed`` (see :func:`may_skip_reference_checks`); the checks are back for the statements
    after it. If the statement fails, its transaction rolls back, and the setting with it."""
    if not allowed:
        yield
        return
    await execute("SET LOCAL session_replication_role = replica")
    yield
    await execute("SET LOCAL session_replication_role = origin")
