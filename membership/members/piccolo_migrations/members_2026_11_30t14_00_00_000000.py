from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-30T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members on SQLite: tier reviews go through members in id order, without an index by date"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def no_review_index():
        # SQLite writes a changed page whole at each commit: the review (tiers/service.py) takes
        # members in the order they are stored, and an index by review date would have a page
        # changed for nearly every member it moves. PostgreSQL keeps it: there the review takes
        # the members due first, skipping those a till holds.
        engine = engine_finder()
        if isinstance(engine, SQLiteEngine):
            await engine.run_ddl("DROP INDEX IF EXISTS member_tier_review")

    manager.add_raw(no_review_index)

    return manager
