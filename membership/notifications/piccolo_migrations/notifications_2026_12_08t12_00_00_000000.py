from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-08T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification channels: each program's settings of a channel, and the in-console inbox"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "channel_config" ('
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT, "channel" VARCHAR(64) NOT NULL,'
    ' "enabled" BOOLEAN NOT NULL DEFAULT true, "settings" TEXT NOT NULL DEFAULT \'{}\','
    ' "key_fp" VARCHAR(16) DEFAULT null, "updated_at" TIMESTAMPTZ NOT NULL, PRIMARY KEY ("program_id", "channel"))',
    'CREATE TABLE IF NOT EXISTS "inbox_message" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "message_id" VARCHAR(100) NOT NULL DEFAULT \'\', "subject" VARCHAR(200) NOT NULL DEFAULT \'\','
    ' "body" TEXT NOT NULL, "link" VARCHAR(500) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL,'
    ' "read_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def notifications():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.index("inbox_message", "inbox_message_member", ["member_id", "created_at"])
        await ddl.index("inbox_message", "inbox_message_program", ["program_id", "created_at"])
        # a retried delivery writes its message once
        await ddl.unique_index("inbox_message", "inbox_message_once", ["member_id", "message_id"], "message_id <> ''")

    manager.add_raw(notifications)

    return manager
