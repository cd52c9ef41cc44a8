"""Portable DDL for migrations: unique (optionally partial) indexes, check constraints, and the
program carried down to a child table.

Piccolo adds constraints with ``ALTER TABLE … ADD CONSTRAINT``, which SQLite lacks. Migrations
call these helpers instead: a unique index works on both engines (and serves ``ON CONFLICT``);
a check is a real constraint on PostgreSQL and a pair of ``RAISE(ABORT)`` triggers on SQLite.
"""

from __future__ import annotations

from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine


async def unique_index(table: str, name: str, columns: list[str], where: str | None = None) -> None:
    """``CREATE UNIQUE INDEX name ON table (columns) [WHERE where]``."""
    cols = ", ".join(f'"{c}"' for c in columns)
    await engine_finder().run_ddl(
        f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({cols})' + (f" WHERE {where}" if where else "")
    )


async def index(table: str, name: str, columns: list[str], where: str | None = None) -> None:
    """``CREATE INDEX name ON table (columns) [WHERE where]``."""
    cols = ", ".join(f'"{c}"' for c in columns)
    await engine_finder().run_ddl(
        f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({cols})' + (f" WHERE {where}" if where else "")
    )


async def check(table: str, name: str, condition: str) -> None:
    """Refuse rows where ``condition`` (written with bare column names) is false."""
    engine = engine_finder()
    if not isinstance(engine, SQLiteEngine):
        await engine.run_ddl(f'ALTER TABLE "{table}" ADD CONSTRAINT {name} CHECK ({condition})')
        return
    new_condition = condition
    for word in sorted(_columns(condition), key=len, reverse=True):
        new_condition = new_condition.replace(word, f"NEW.{word}")
    for event in ("INSERT", "UPDATE"):
        await engine.run_ddl(
            f'CREATE TRIGGER IF NOT EXISTS {name}_{event.lower()} BEFORE {event} ON "{table}"'
            f" WHEN NOT ({new_condition}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
        )


async def carry_program(table: str, parent: str, parent_key: str) -> None:
    """Give ``table`` its rows' ``program_id``, copied from the ``parent`` row its ``parent_key``
    names, and require it from then on: every table a sale touches carries the program, so each
    can be distributed by it (docs/scaling.md) and each hot statement filters by it."""
    engine = engine_finder()
    await engine.run_ddl(f'ALTER TABLE "{table}" ADD COLUMN "program_id" UUID DEFAULT null')
    await engine.run_ddl(
        f'UPDATE "{table}" SET "program_id" = (SELECT p."program_id" FROM "{parent}" p'
        f' WHERE p."id" = "{table}"."{parent_key}")'
    )
    if isinstance(engine, SQLiteEngine):
        await check(table, f"{table}_program_set", "program_id is not null")
    else:
        await engine.run_ddl(f'ALTER TABLE "{table}" ALTER COLUMN "program_id" SET NOT NULL')


async def unique_with_program(table: str, name: str, columns: list[str], where: str | None = None) -> None:
    """Make the unique index ``name`` on ``columns`` (partial when ``where``) carry ``program_id``
    too (created when the columns are the table's primary key, which stays): it refuses what it
    refused before (the rows it compares belong to one program), and a distributed table's unique
    keys must hold the program it is distributed by (Citus), so writes name it as their
    ``ON CONFLICT`` target."""
    await engine_finder().run_ddl(f'DROP INDEX IF EXISTS "{name}"')
    await unique_index(table, name, [*columns, "program_id"], where)


def _columns(condition: str) -> set[str]:
    """Bare column names in a simple condition (identifiers that are not SQL words or literals)."""
    import re

    without_literals = re.sub(r"'[^']*'", "", condition)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", without_literals))
    return words - {"and", "or", "not", "like", "is", "null", "in", "between"}
