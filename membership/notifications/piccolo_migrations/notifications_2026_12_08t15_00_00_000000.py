from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-08T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "delivery: message templates, the message outbox with each message's state, channel rate limits"

_STATEMENTS = [
    'ALTER TABLE "channel_config" ADD COLUMN "rate_per_minute" INTEGER DEFAULT null',
    'CREATE TABLE IF NOT EXISTS "message_template" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT, "code" VARCHAR(64) NOT NULL,'
    ' "name" VARCHAR(100) NOT NULL, "purpose" VARCHAR(10) NOT NULL, "subject_zh" VARCHAR(200) NOT NULL DEFAULT \'\','
    ' "body_zh" TEXT NOT NULL, "subject_en" VARCHAR(200) NOT NULL DEFAULT \'\', "body_en" TEXT NOT NULL DEFAULT \'\','
    ' "providers" TEXT NOT NULL DEFAULT \'{}\', "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "notification" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "channel" VARCHAR(64) NOT NULL, "purpose" VARCHAR(10) NOT NULL, "template_code" VARCHAR(64) NOT NULL,'
    ' "dedup_key" VARCHAR(200) NOT NULL, "cause" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "language" VARCHAR(2) NOT NULL, "subject" VARCHAR(200) NOT NULL DEFAULT \'\', "body" TEXT NOT NULL,'
    ' "provider" TEXT NOT NULL DEFAULT \'{}\', "link" VARCHAR(500) NOT NULL DEFAULT \'\','
    ' "state" VARCHAR(10) NOT NULL DEFAULT \'pending\', "reason" VARCHAR(40) NOT NULL DEFAULT \'\','
    ' "attempts" INTEGER NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMPTZ NOT NULL,'
    ' "claimed_at" TIMESTAMPTZ DEFAULT null, "last_error" TEXT NOT NULL DEFAULT \'\','
    ' "provider_id" VARCHAR(200) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL,'
    ' "sent_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def delivery():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("message_template", "message_template_code_unique", ["program_id", "code"])
        await ddl.check("message_template", "message_template_purpose", "purpose IN ('marketing', 'service')")
        await ddl.unique_index("notification", "notification_dedup_unique", ["program_id", "dedup_key"])
        await ddl.index("notification", "notification_due", ["state", "next_attempt_at"])
        await ddl.index("notification", "notification_member", ["member_id", "created_at"])
        await ddl.index("notification", "notification_channel_sent", ["program_id", "channel", "sent_at"])
        await ddl.check(
            "notification",
            "notification_state",
            "state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')",
        )

    manager.add_raw(delivery)

    return manager
