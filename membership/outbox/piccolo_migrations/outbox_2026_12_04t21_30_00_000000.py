from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-04T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the event outbox and each listener's delivery"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "event_outbox" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID DEFAULT null, "name" VARCHAR(64) NOT NULL, "data" TEXT NOT NULL DEFAULT \'{}\','
    ' "occurred_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "event_delivery" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "event_id" UUID NOT NULL REFERENCES "event_outbox" ("id") ON DELETE CASCADE,'
    ' "listener" VARCHAR(100) NOT NULL, "state" VARCHAR(10) NOT NULL DEFAULT \'pending\','
    ' "attempts" INTEGER NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMPTZ NOT NULL,'
    ' "last_error" TEXT NOT NULL DEFAULT \'\', "delivered_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="outbox", description=DESCRIPTION)

    async def outbox():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.index("event_delivery", "event_delivery_due", ["state", "next_attempt_at"])
        await ddl.index("event_delivery", "event_delivery_event", ["event_id"])
        await ddl.check("event_delivery", "event_delivery_state", "state IN ('pending', 'delivered', 'dead')")

    manager.add_raw(outbox)

    return manager
