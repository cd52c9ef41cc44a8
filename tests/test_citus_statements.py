"""The rules that keep every statement on one Citus worker (docs/scaling.md, "Statements"): a join
between two tables distributed by the program matches their programs too (Citus refuses an outer
join, or a join of tables filtered by different columns, that does not), and an update or delete
of such a table names the program (without it Citus sends it to every shard). On SQLite and plain
PostgreSQL the extra condition changes nothing (related rows belong to one program). Checked over
the source of the kernel and of the packs, so a new statement cannot bring either back."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

from piccolo.table import Table

from membership.db.citus import LOCAL
from membership.db.piccolo_conf import app_registry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "membership", *sorted((ROOT / "plugins").glob("*/membership_*"))]
JOIN = re.compile(r"JOIN\s+(\w+)\s+(\w+)\s+ON\s+((?:(?!\b(?:LEFT|JOIN|WHERE|CROSS|ORDER|GROUP|INNER)\b)[^\"])*)")
NAMED = r"(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?{alias}\b"


def distributed_tables() -> set[str]:
    """The tables :func:`membership.db.citus.distribute` distributes: those carrying a program,
    the kernel's and the packs' (whether or not a pack is installed here)."""
    tables = [table for app in app_registry().app_configs.values() for table in app.table_classes]
    for pack in SOURCES[1:]:
        if str(pack.parent) not in sys.path:
            sys.path.append(str(pack.parent))
        module = importlib.import_module(f"{pack.name}.tables")
        tables += [value for value in vars(module).values() if isinstance(value, type) and issubclass(value, Table)]
    carrying = {t._meta.tablename for t in tables if any(c._meta.name == "program_id" for c in t._meta.columns)}
    return carrying - set(LOCAL)


def unmatched_joins(text: str, distributed: set[str]) -> list[tuple[int, str]]:
    """(line, text) of each join of two distributed tables whose condition leaves out the program
    (the other table is looked for in the lines just above, where the statement names it)."""
    lines = text.split("\n")
    found = []
    for number, line in enumerate(lines, 1):
        for join in JOIN.finditer(line):
            table, alias, condition = join.groups()
            if table not in distributed or "program_id" in condition:
                continue
            others = [name for name in re.findall(r"\b(\w+)\.\w+", condition) if name != alias]
            context = "\n".join(lines[max(0, number - 9) : number])
            named = re.findall(NAMED.format(alias=re.escape(others[0])), context) if others else []
            if named and named[-1] in distributed:
                found.append((number, line.strip()))
    return found


WRITE = re.compile(r"^\s*(?:UPDATE|DELETE\s+FROM)\s+(\w+)\b")


def _segment(lines: list[str], node: ast.expr) -> str:
    """The source of ``node`` (as :func:`ast.get_source_segment`, which splits the file anew on
    each call); columns are counted in UTF-8 bytes."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    chunk = [line.encode() for line in lines[first : last + 1]]
    chunk[-1] = chunk[-1][: node.end_col_offset]
    chunk[0] = chunk[0][node.col_offset :]
    return b"\n".join(chunk).decode()


def unscoped_writes(text: str, distributed: set[str]) -> list[tuple[int, str]]:
    """(line, statement) of each ``UPDATE``/``DELETE`` of a distributed table whose text never
    names ``program_id`` (each string literal of the source, adjacent ones joined as Python joins
    them). A statement meant for every program (a retention purge, a job over all accounts) says
    so with an ``# every program`` comment on its first line or the line above."""
    tree = ast.parse(text)
    parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    lines = text.split("\n")
    found = []
    for node in ast.walk(tree):
        if id(node) in parts or not (
            isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
        ):
            continue
        statement = _segment(lines, node)
        write = WRITE.match(statement.lstrip("rbfRBF")[1:])
        if not write or write.group(1) not in distributed or "program_id" in statement:
            continue
        if "# every program" not in "".join(lines[max(0, node.lineno - 2) : node.lineno]):
            found.append((node.lineno, " ".join(statement.split())[:140]))
    return sorted(found)


def offenders(rule) -> list[str]:
    """Where ``rule`` finds a statement against the rules in the kernel's and the packs' source."""
    distributed = distributed_tables()
    return [
        f"{path.relative_to(ROOT)}:{number}: {line}"
        for source in SOURCES
        for path in sorted(source.rglob("*.py"))
        if "piccolo_migrations" not in path.parts
        for number, line in rule(path.read_text(encoding="utf-8"), distributed)
    ]


def test_the_rule_finds_a_join_that_leaves_out_the_program():
    distributed = {"sale", "sale_line", "member"}
    text = (
        '"SELECT l.sku FROM sale_line l JOIN sale s ON s.id = l.sale_id"\n'
        '"SELECT l.sku FROM sale_line l JOIN sale s ON s.program_id = l.program_id AND s.id = l.sale_id"\n'
        '"SELECT m.id FROM member m LEFT JOIN store st ON st.id = m.store_id"'
    )
    assert unmatched_joins(text, distributed) == [(1, text.split("\n")[0])]


def test_every_join_of_two_distributed_tables_matches_their_programs(db):
    distributed = distributed_tables()
    assert {"member", "sale", "coupon", "retail_receipt", "finance_statement"} <= distributed
    assert "store" not in distributed and "audit_log" not in distributed
    found = offenders(unmatched_joins)
    assert found == [], "\n".join(found)


def test_the_rule_finds_an_update_that_leaves_out_the_program():
    distributed = {"coupon", "member"}
    text = (
        'a = "UPDATE coupon SET state = {} WHERE id = {}"\n'
        'b = f"UPDATE coupon SET state = {{}}" " WHERE program_id = {{}} AND id = {{}}"\n'
        'c = f"DELETE FROM member WHERE id IN ({chosen})"\n'
        'd = "UPDATE store SET name = {} WHERE id = {}"\n'
        'e = "SELECT * FROM coupon WHERE id = {}"\n'
        'f = "DELETE FROM coupon WHERE created_at < {}"  # every program: a retention purge\n'
    )
    assert [line for line, _ in unscoped_writes(text, distributed)] == [1, 3]


def test_every_update_and_delete_of_a_distributed_table_names_the_program(db):
    found = offenders(unscoped_writes)
    assert found == [], f"{len(found)} statements:\n" + "\n".join(found)
