from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-11T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "delivery: messages queued by the thousand keep their values and are rendered when sent; opens, clicks;"
    " messages not yet sent stay out of the channel-rate index"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def template_values():
        engine = engine_finder()
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "template_values" TEXT NOT NULL DEFAULT \'\'')
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "opened_at" TIMESTAMPTZ DEFAULT null')
        await engine.run_ddl('ALTER TABLE "notification" ADD COLUMN "clicked_at" TIMESTAMPTZ DEFAULT null')
        await engine.run_ddl("DROP INDEX IF EXISTS notification_channel_sent")  # a channel's rate counts sent ones
        await ddl.index(
            "notification", "notification_channel_sent", ["program_id", "channel", "sent_at"], "sent_at IS NOT NULL"
        )

    manager.add_raw(template_values)

    return manager
