from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a sale's attributes (meal period, party size, venue…) and its lines' brand and labels"

_STATEMENTS = [
    'ALTER TABLE "sale" ADD COLUMN "attributes" TEXT NOT NULL DEFAULT \'{}\'',
    'ALTER TABLE "sale_line" ADD COLUMN "brand" VARCHAR(64) NOT NULL DEFAULT \'\'',
    'ALTER TABLE "sale_line" ADD COLUMN "labels" TEXT NOT NULL DEFAULT \'[]\'',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def attributes():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(attributes)

    return manager
