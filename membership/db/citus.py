"""The schema on Citus: distributed by program (docs/scaling.md, "Beyond one PostgreSQL").

:func:`distribute` runs after the migrations when the database has the ``citus`` extension;
SQLite and plain PostgreSQL keep their schema. It is idempotent: a later migration's new table is
placed on the next run, tables already placed are left alone.

- **Distributed by ``program_id``**, all in one co-location group: every table whose rows carry a
  program (members, accounts, postings, entries, lots, sales and their lines, coupons, …). A
  program's rows live on one worker, so a purchase is a single-node transaction with every
  guarantee of one PostgreSQL (row locks, unique keys, the overdraft guard).
- **Reference tables** (a copy on every node): the merchants, programs, stores and staff that the
  distributed rows refer to.
- **Local tables** on the coordinator: the rest (jobs, sessions, the outbox's deliveries, the
  idempotency keys, segments' member lists, …).

Citus's rules and how the schema meets them: a distributed table's primary key and unique
indexes must contain the distribution column, so ``program_id`` is appended to those that lack
it (a member's id is unique in one program as it was everywhere, so nothing that was refused is
accepted now); a foreign key between distributed tables must include it, so ``(x_id)`` →
``x(id)`` becomes ``(x_id, program_id)`` → ``x(id, program_id)``; foreign keys to reference
tables stay; a local table's foreign key to a distributed table is dropped (the application
writes those rows in the transaction that checks their parent, under its lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from membership.db.engine import database_cache, is_sqlite
from membership.db.sql import execute, fetch

REFERENCE_TABLES = ("merchant", "program", "store", "staff")  # in the order their keys need
DISTRIBUTION_COLUMN = "program_id"
ANCHOR = "member"  # the co-location group is member's
LOCAL = ("audit_log",)  # carries a program, but not always (the system's own actions): on the coordinator


_known: dict[str, bool] = database_cache({})  # "citus" -> whether the open database has it


async def is_citus() -> bool:
    """True when the database has the Citus extension (SQLite never); asked once per database."""
    if is_sqlite():
        return False
    if "citus" not in _known:
        _known["citus"] = bool(await fetch("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    return _known["citus"]


async def conflict_target(*columns: str) -> str:
    """The ``ON CONFLICT`` target naming a unique key of a table that carries the program:
    ``(a, b)``, and ``(a, b, program_id)`` on Citus, where :func:`distribute` appended the program
    to the key (a key that already holds the program is named as it is)."""
    if DISTRIBUTION_COLUMN not in columns and await is_citus():
        columns = (*columns, DISTRIBUTION_COLUMN)
    return "(" + ", ".join(columns) + ")"


@dataclass
class _Table:
    name: str
    has_program: bool
    placed: str | None  # 'd' distributed, 'n' reference, None not yet
    foreign_keys: list[dict] = field(default_factory=list)


async def placement() -> dict[str, str]:
    """Each table's place: ``distributed``, ``reference`` or ``local`` (for docs and tests)."""
    rows = await fetch(
        "SELECT c.relname AS name, CAST(p.partmethod AS text) || CAST(p.repmodel AS text) AS method FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid"
        " WHERE n.nspname = 'public' AND c.relkind = 'r'"
    )
    kinds = {"hs": "distributed", "nt": "reference"}  # 'ns': a local table Citus knows of
    return {r["name"]: kinds.get(r["method"] or "", "local") for r in rows}


async def distribute() -> list[str]:
    """Place every table not placed yet (see the module's docstring); what was done, in order."""
    tables = await _tables()
    done: list[str] = []
    new_distributed = [t for t in tables.values() if t.has_program and t.placed is None]
    new_reference = [tables[n] for n in REFERENCE_TABLES if n in tables and tables[n].placed is None]
    to_place = [*new_distributed, *new_reference]
    distributed = {t.name for t in tables.values() if t.has_program}
    local = {t.name for t in tables.values() if not t.has_program and t.name not in REFERENCE_TABLES}
    # 1. the foreign keys of the tables to place go first (placing a table refuses most of them),
    # and those Citus refuses for good: a local table and a distributed one cannot refer
    kept: list[tuple[_Table, dict]] = []
    for t in tables.values():
        for fk in t.foreign_keys:
            target = tables[fk["target"]]
            if {t.name, target.name} & local and {t.name, target.name} & distributed:
                await _drop_constraint(t.name, fk["name"])
                done.append(f"{t.name}: dropped {fk['name']} (a local and a distributed table cannot refer)")
            elif t in to_place or target in to_place:
                await _drop_constraint(t.name, fk["name"])
                kept.append((t, fk))
    # 2. reference tables
    for t in new_reference:
        await fetch("SELECT create_reference_table({})", t.name)
        done.append(f"{t.name}: reference")
    # 3. keys with the program, then the tables distributed
    for t in new_distributed:
        await execute(f'ALTER TABLE "{t.name}" ALTER COLUMN "{DISTRIBUTION_COLUMN}" SET NOT NULL')
        await _keys_with_program(t.name)
    anchor_placed = ANCHOR in tables and tables[ANCHOR].placed is not None
    for t in sorted(new_distributed, key=lambda t: t.name != ANCHOR):
        colocate = "none" if t.name == ANCHOR and not anchor_placed else ANCHOR
        await fetch(
            "SELECT create_distributed_table({}, {}, colocate_with => {})", t.name, DISTRIBUTION_COLUMN, colocate
        )
        done.append(f"{t.name}: distributed by {DISTRIBUTION_COLUMN}")
    # 4. the foreign keys back, those between distributed tables with the program
    for t, fk in kept:
        columns, targets = list(fk["columns"]), list(fk["target_columns"])
        if t.name in distributed and fk["target"] in distributed and DISTRIBUTION_COLUMN not in columns:
            columns.append(DISTRIBUTION_COLUMN)
            targets.append(DISTRIBUTION_COLUMN)
        await execute(
            f'ALTER TABLE "{t.name}" ADD CONSTRAINT "{fk["name"]}" FOREIGN KEY ({_names(columns)})'
            f' REFERENCES "{fk["target"]}" ({_names(targets)}){fk["actions"]}'
        )
    return done


async def _tables() -> dict[str, _Table]:
    rows = await fetch(
        "SELECT c.relname AS name, CAST(p.partmethod AS text) AS method,"
        " EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = {} AND NOT a.attisdropped"
        ") AS has_program"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'migration'",
        DISTRIBUTION_COLUMN,
    )
    tables = {r["name"]: _Table(r["name"], r["has_program"] and r["name"] not in LOCAL, r["method"]) for r in rows}
    fks = await fetch(
        "SELECT c.conname AS name, s.relname AS source, t.relname AS target,"
        " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)"
        "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,"
        " ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)"
        "   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS target_columns,"
        " CAST(c.confdeltype AS text) AS on_delete"
        " FROM pg_constraint c JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid"
        " JOIN pg_namespace n ON n.oid = s.relnamespace WHERE c.contype = 'f' AND n.nspname = 'public'"
    )
    actions = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
    for fk in fks:
        if fk["source"] not in tables or fk["target"] not in tables:
            continue
        on_delete = actions[fk["on_delete"]]
        tables[fk["source"]].foreign_keys.append(
            {
                "name": fk["name"],
                "target": fk["target"],
                "columns": list(fk["columns"]),
                "target_columns": list(fk["target_columns"]),
                # the program never changes: ON UPDATE CASCADE of a key is not carried over
                "actions": "" if on_delete == "NO ACTION" else f" ON DELETE {on_delete}",
            }
        )
    return tables


def _names(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


async def _drop_constraint(table: str, name: str) -> None:
    await execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


async def _keys_with_program(table: str) -> None:
    """The table's primary key and unique indexes, each with ``program_id`` appended if it lacks it."""
    indexes = await fetch(
        "SELECT i.relname AS name, x.indisprimary AS primary_key, pg_get_indexdef(x.indexrelid) AS definition,"
        " con.conname AS constraint_name,"
        " ARRAY(SELECT a.attname FROM unnest(x.indkey) AS k(n) JOIN pg_attribute a"
        "   ON a.attrelid = x.indrelid AND a.attnum = k.n) AS columns"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid"
        " WHERE t.relname = {} AND x.indisunique",
        table,
    )
    for index in indexes:
        if DISTRIBUTION_COLUMN in index["columns"]:
            continue
        columns = ", ".join(f'"{c}"' for c in [*index["columns"], DISTRIBUTION_COLUMN])
        if index["primary_key"]:
            await _drop_constraint(table, index["constraint_name"])
            await execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({columns})')
            continue
        if index["constraint_name"]:
            await _drop_constraint(table, index["constraint_name"])
        else:
            await execute(f'DROP INDEX "{index["name"]}"')
        definition = index["definition"]  # CREATE UNIQUE INDEX name ON public.t USING btree (a, b) [WHERE …]
        head, rest = definition.split(" USING btree (", 1)
        _, where = rest.split(")", 1)
        await execute(f"{head} USING btree ({columns}){where}")
