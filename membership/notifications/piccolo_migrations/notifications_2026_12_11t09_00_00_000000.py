from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-11T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "delivery: messages queued by the thousand keep their values and are rendered when sent; opens, clicks"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def template_values():
        engine = engine_finder()
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "template_values" TEXT NOT NULL DEFAULT \'\'')
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "opened_at" TIMESTAMPTZ DEFAULT null')
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "clicked_at" TIMESTAMPTZ DEFAULT null')

    manager.add_raw(template_values)

    return manager
