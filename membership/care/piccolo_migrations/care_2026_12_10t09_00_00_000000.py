from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-10T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Member care: surveys and their answers, service tickets with their history, staff notices"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "survey" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "code" VARCHAR(64) NOT NULL, "name" VARCHAR(100) NOT NULL, "kind" VARCHAR(4) NOT NULL,'
    ' "send_after" VARCHAR(8) NOT NULL, "question_zh" VARCHAR(300) NOT NULL,'
    ' "question_en" VARCHAR(300) NOT NULL DEFAULT \'\', "template_code" VARCHAR(64) NOT NULL,'
    ' "channels" TEXT NOT NULL DEFAULT \'[]\', "delay_minutes" INTEGER NOT NULL DEFAULT 0,'
    ' "sample_pct" SMALLINT NOT NULL DEFAULT 100, "valid_days" SMALLINT NOT NULL DEFAULT 7,'
    ' "active" BOOLEAN NOT NULL DEFAULT true, "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "survey_send" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "survey_id" UUID NOT NULL REFERENCES "survey" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "occasion" VARCHAR(100) NOT NULL, "store_id" UUID DEFAULT null, "tier" VARCHAR(32) NOT NULL DEFAULT \'\','
    ' "due_at" TIMESTAMPTZ NOT NULL, "expires_at" TIMESTAMPTZ NOT NULL, "score" SMALLINT DEFAULT null,'
    ' "comment" TEXT NOT NULL DEFAULT \'\', "answered_at" TIMESTAMPTZ DEFAULT null, "week_start" DATE DEFAULT null,'
    ' "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "service_ticket" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT, "number" INTEGER NOT NULL,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT, "store_id" UUID DEFAULT null,'
    ' "kind" VARCHAR(10) NOT NULL, "subject" VARCHAR(200) NOT NULL, "description" TEXT NOT NULL DEFAULT \'\','
    ' "priority" VARCHAR(8) NOT NULL DEFAULT \'normal\', "status" VARCHAR(12) NOT NULL DEFAULT \'open\','
    ' "assignee_id" UUID DEFAULT null REFERENCES "staff" ("id") ON DELETE RESTRICT,'
    ' "created_by" VARCHAR(100) NOT NULL, "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL,'
    ' "respond_by" TIMESTAMPTZ NOT NULL, "responded_at" TIMESTAMPTZ DEFAULT null,'
    ' "escalated_at" TIMESTAMPTZ DEFAULT null, "resolved_at" TIMESTAMPTZ DEFAULT null,'
    ' "closed_at" TIMESTAMPTZ DEFAULT null)',
    'CREATE TABLE IF NOT EXISTS "ticket_entry" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "ticket_id" UUID NOT NULL REFERENCES "service_ticket" ("id") ON DELETE CASCADE,'
    ' "kind" VARCHAR(10) NOT NULL, "from_status" VARCHAR(12) NOT NULL DEFAULT \'\','
    ' "to_status" VARCHAR(12) NOT NULL DEFAULT \'\', "body" TEXT NOT NULL DEFAULT \'\','
    ' "actor" VARCHAR(100) NOT NULL, "at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "staff_notice" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "staff_id" UUID NOT NULL REFERENCES "staff" ("id") ON DELETE CASCADE,'
    ' "ticket_id" UUID NOT NULL REFERENCES "service_ticket" ("id") ON DELETE CASCADE,'
    ' "body" TEXT NOT NULL, "created_at" TIMESTAMPTZ NOT NULL, "read_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="care", description=DESCRIPTION)

    async def care():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("survey", "survey_code_unique", ["program_id", "code"])
        await ddl.check("survey", "survey_kind", "kind IN ('nps', 'csat')")
        await ddl.check("survey", "survey_send_after", "send_after IN ('purchase', 'ticket')")
        await ddl.unique_index("survey_send", "survey_send_occasion_unique", ["survey_id", "occasion"])
        await ddl.index("survey_send", "survey_send_answers", ["survey_id", "answered_at"])
        await ddl.unique_index("service_ticket", "service_ticket_number_unique", ["program_id", "number"])
        await ddl.index("service_ticket", "service_ticket_member", ["member_id", "created_at"])
        await ddl.index("service_ticket", "service_ticket_status", ["program_id", "status", "created_at"])
        await ddl.index("service_ticket", "service_ticket_due", ["respond_by"], where="responded_at IS NULL")
        await ddl.check(
            "service_ticket", "service_ticket_status_known", "status IN ('open', 'in_progress', 'resolved', 'closed')"
        )
        await ddl.index("ticket_entry", "ticket_entry_ticket", ["ticket_id", "at"])
        await ddl.index("staff_notice", "staff_notice_staff", ["staff_id", "created_at"])

    manager.add_raw(care)

    return manager
