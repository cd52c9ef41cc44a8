from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T04:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sales recorded before coupons: subtotal = total (no discount)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def backfill():
        await engine_finder().run_ddl('UPDATE "sale" SET "subtotal" = "total"')

    manager.add_raw(backfill)

    return manager
