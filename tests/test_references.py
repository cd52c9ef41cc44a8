"""Foreign-key checks a job's statement proves (PostgreSQL): the points expiry runs its statement
without them when the role may, and only that statement."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from membership.config import Settings
from membership.db import close_database, execute, fetch, fetch_one, open_database, use_case
from membership.db.references import may_skip_reference_checks, proven_references
from membership.ledger import service as ledger
from membership.ledger.expiry import expire_points
from tests.helpers import ledger_violations, make_shop

pytestmark = pytest.mark.postgres

# an ordinary trigger fires only while session_replication_role is "origin", as the
# foreign-key checks do: it records which entries were written with the checks on
SEEN_TRIGGER = [
    "CREATE TABLE entry_seen (id uuid PRIMARY KEY)",
    "CREATE FUNCTION note_entry() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN INSERT INTO entry_seen VALUES (NEW.id); RETURN NEW; END $$",
    "CREATE TRIGGER entry_seen AFTER INSERT ON ledger_entry FOR EACH ROW EXECUTE FUNCTION note_entry()",
    "GRANT ALL ON entry_seen TO PUBLIC",
]


async def _checked_entries() -> dict[str, int]:
    rows = await fetch(
        "SELECT e.rule, COUNT(s.id) AS checked, COUNT(*) AS n FROM ledger_entry e"
        " LEFT JOIN entry_seen s ON s.id = e.id GROUP BY e.rule"
    )
    return {row["rule"]: (row["checked"], row["n"]) for row in rows}


async def _expire_all_now(member_ids: list[uuid.UUID]) -> int:
    for member_id in member_ids:
        await ledger.adjust_points(member_id, 10, "活动", "admin")
    await execute("UPDATE points_lot SET expires_at = {}", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    return (await expire_points(dt.datetime.now(dt.UTC), lambda done, total: None)).processed


async def test_the_expiry_statement_runs_without_the_checks_it_proves_and_nothing_else_does(plain_pg_db):
    # plain PostgreSQL: the trigger that sees the checks cannot be put on a distributed table (Citus)
    for statement in SEEN_TRIGGER:
        await execute(statement)
    shop = await make_shop()
    assert await may_skip_reference_checks()  # the throwaway cluster's superuser
    assert await _expire_all_now([shop.member_id]) == 1
    await ledger.adjust_points(shop.member_id, 5, "补偿", "admin")
    # (checked, written): the expiry's member and contra entries unchecked, the adjustments checked
    assert await _checked_entries() == {"expiry": (0, 2), "manual": (4, 4)}
    assert await ledger_violations() == []


async def _replication_role() -> str:
    """The session's replication role (in the caller's transaction, if any)."""
    return (await fetch_one("SHOW session_replication_role"))["session_replication_role"]


@use_case
async def _asked_inside_a_transaction() -> tuple[bool, str]:
    allowed = await may_skip_reference_checks()
    return allowed, await _replication_role()


@use_case
async def _settings_around_proven_statement() -> list[str]:
    seen = []
    async with proven_references(True):
        seen.append(await _replication_role())
    seen.append(await _replication_role())
    return seen


@use_case
async def _fail_inside_proven_statement() -> None:
    async with proven_references(True):
        await execute("SELECT 1 / 0")


async def test_the_checks_are_back_for_the_statements_after_the_proven_one_and_a_failed_one(pg_db):
    assert await _settings_around_proven_statement() == ["replica", "origin"]
    with pytest.raises(Exception, match="division by zero"):
        await _fail_inside_proven_statement()
    assert await _replication_role() == "origin"


async def test_asking_whether_the_checks_may_be_skipped_leaves_the_caller_s_transaction_alone(pg_db):
    assert await _asked_inside_a_transaction() == (True, "origin")


async def test_a_role_that_may_not_skip_the_checks_keeps_them(plain_pg_db):
    pg_db = plain_pg_db  # plain PostgreSQL, as above
    for statement in SEEN_TRIGGER:
        await execute(statement)
    shop = await make_shop()
    clerk = f"clerk_{uuid.uuid4().hex[:8]}"
    await execute(f"CREATE ROLE {clerk} LOGIN")
    await execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {clerk}")
    owner = pg_db.database_url
    await close_database()
    await open_database(Settings(database_url=owner.replace("postgres@", f"{clerk}@", 1), secret_key=pg_db.secret_key))
    assert not await may_skip_reference_checks()
    assert await _expire_all_now([shop.member_id]) == 1
    assert await _checked_entries() == {"expiry": (2, 2), "manual": (2, 2)}
    assert await ledger_violations() == []
    await close_database()
    await open_database(pg_db)
    await execute(f"GRANT SET ON PARAMETER session_replication_role TO {clerk}")
    await close_database()
    await open_database(Settings(database_url=owner.replace("postgres@", f"{clerk}@", 1), secret_key=pg_db.secret_key))
    assert await may_skip_reference_checks()
