from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

from membership.db.ids import POSTGRES_UUID7

ID = "2026-11-30T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "uuid7() and a fill factor for balances on PostgreSQL; the expiry job no longer marks lots first"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def change():
        engine = engine_finder()
        if not isinstance(engine, SQLiteEngine):
            await engine.run_ddl(POSTGRES_UUID7)
            # balances are rewritten by every purchase and job: room on each page keeps those
            # updates HOT (no index entries written; the columns they change are not indexed)
            await engine.run_ddl("ALTER TABLE ledger_account SET (fillfactor = 80)")
        await engine.run_ddl("DROP INDEX IF EXISTS points_lot_expiry_mark")

    manager.add_raw(change)

    return manager
