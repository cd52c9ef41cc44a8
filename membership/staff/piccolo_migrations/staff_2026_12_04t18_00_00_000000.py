from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

from membership.db import ddl

ID = "2026-12-04T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff: the login throttle counts failures by account and address; no more account locks"

# One statement per engine where they differ: the column types are the ones Piccolo declares
# (SQLite converts values by the declared type name: UUID, TIMESTAMPTZ).
_TABLE = (
    'CREATE TABLE IF NOT EXISTS "staff_login_throttle" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "scope" VARCHAR(10) NOT NULL, "username" VARCHAR(50) NOT NULL DEFAULT \'\','
    ' "address" VARCHAR(64) NOT NULL DEFAULT \'\', "failures" INTEGER NOT NULL DEFAULT 0,'
    ' "blocked_until" TIMESTAMPTZ DEFAULT null, "last_failure_at" TIMESTAMPTZ NOT NULL)'
)

# The account lock's columns go: a lock anyone could set for the owner is what the throttle
# replaces. SQLite drops a column only once no trigger names it (the check was a trigger pair).
_DROP_LOCK_SQLITE = [
    "DROP TRIGGER IF EXISTS staff_failed_logins_insert",
    "DROP TRIGGER IF EXISTS staff_failed_logins_update",
    'ALTER TABLE "staff" DROP COLUMN "failed_logins"',
    'ALTER TABLE "staff" DROP COLUMN "locked_until"',
]
_DROP_LOCK_POSTGRES = [
    'ALTER TABLE "staff" DROP CONSTRAINT IF EXISTS staff_failed_logins',
    'ALTER TABLE "staff" DROP COLUMN IF EXISTS "failed_logins", DROP COLUMN IF EXISTS "locked_until"',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="staff", description=DESCRIPTION)

    async def throttle():
        engine = engine_finder()
        await engine.run_ddl(_TABLE)
        await ddl.unique_index("staff_login_throttle", "staff_login_throttle_counter", ["scope", "username", "address"])
        await ddl.index("staff_login_throttle", "staff_login_throttle_age", ["last_failure_at"])
        await ddl.check("staff_login_throttle", "staff_login_throttle_scope", "scope IN ('pair', 'address', 'account')")
        await ddl.check("staff_login_throttle", "staff_login_throttle_failures", "failures >= 0")
        sqlite = isinstance(engine, SQLiteEngine)
        for statement in _DROP_LOCK_SQLITE if sqlite else _DROP_LOCK_POSTGRES:
            await engine.run_ddl(statement)

    manager.add_raw(throttle)

    return manager
