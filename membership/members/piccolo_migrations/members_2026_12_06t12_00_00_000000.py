from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-12-06T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "credentials: a hint of up to 32 characters (a kind's mask, e.g. a bank card's 622202******1234)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def longer_hint():
        # SQLite does not enforce a VARCHAR's length; PostgreSQL widens it without rewriting rows.
        engine = engine_finder()
        if not isinstance(engine, SQLiteEngine):
            await engine.run_ddl('ALTER TABLE "credential" ALTER COLUMN "value_hint" TYPE VARCHAR(32)')

    manager.add_raw(longer_hint)

    return manager
