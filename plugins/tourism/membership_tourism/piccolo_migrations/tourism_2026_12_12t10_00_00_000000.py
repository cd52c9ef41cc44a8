"""The tourism pack's tables, in raw DDL that SQLite and PostgreSQL both take (checks inline in
CREATE TABLE; partial unique indexes for what happens once)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-12T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tourism: pass plans, blackout dates, passes and their people, venues, gates, entries"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "tourism_pass_plan" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "plan_code" VARCHAR(32) NOT NULL, "kind" VARCHAR(16) NOT NULL, "max_family" INTEGER NOT NULL DEFAULT 0,'
    ' "daily_entries" INTEGER NOT NULL DEFAULT 0, "reentry_minutes" INTEGER NOT NULL DEFAULT 0,'
    ' "active" BOOLEAN NOT NULL DEFAULT TRUE, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL,'
    " CONSTRAINT tourism_pass_plan_terms CHECK (\"kind\" IN ('annual', 'seasonal')"
    ' AND "max_family" BETWEEN 0 AND 10 AND "daily_entries" BETWEEN 0 AND 20'
    ' AND "reentry_minutes" BETWEEN 0 AND 1440))',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_pass_plan_code ON "tourism_pass_plan" ("program_id", "plan_code")',
    'CREATE TABLE IF NOT EXISTS "tourism_blackout" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "day" VARCHAR(10) NOT NULL, "name" VARCHAR(50) NOT NULL, "plans" TEXT NOT NULL DEFAULT \'[]\','
    ' "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_blackout_day ON "tourism_blackout" ("program_id", "day")',
    'CREATE TABLE IF NOT EXISTS "tourism_pass" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "holder_id" UUID NOT NULL, "plan_code" VARCHAR(32) NOT NULL, "secret" TEXT NOT NULL,'
    ' "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_pass_holder ON "tourism_pass" ("holder_id", "plan_code")',
    'CREATE INDEX IF NOT EXISTS tourism_pass_program ON "tourism_pass" ("program_id", "plan_code")',
    'CREATE TABLE IF NOT EXISTS "tourism_pass_person" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "pass_id" UUID NOT NULL REFERENCES "tourism_pass" ("id") ON DELETE CASCADE, "member_id" UUID NOT NULL,'
    ' "role" VARCHAR(8) NOT NULL, "relation" VARCHAR(16) NOT NULL DEFAULT \'\','
    ' "added_by" VARCHAR(100) NOT NULL DEFAULT \'\', "added_at" TIMESTAMPTZ NOT NULL,'
    ' "removed_by" VARCHAR(100) DEFAULT NULL, "removed_at" TIMESTAMPTZ DEFAULT NULL,'
    " CONSTRAINT tourism_pass_person_role CHECK (\"role\" IN ('holder', 'family')))",
    # a person is on a pass once at a time; a pass has one holder
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_pass_person_once ON "tourism_pass_person" ("pass_id", "member_id")'
    ' WHERE "removed_at" IS NULL',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_pass_person_holder ON "tourism_pass_person" ("pass_id")'
    " WHERE \"role\" = 'holder'",
    'CREATE INDEX IF NOT EXISTS tourism_pass_person_member ON "tourism_pass_person" ("member_id")'
    ' WHERE "removed_at" IS NULL',
    'CREATE TABLE IF NOT EXISTS "tourism_venue" ("store_id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "format" VARCHAR(16) NOT NULL, "pass_points_pct" INTEGER NOT NULL DEFAULT 0,'
    ' "pass_discount_pct" INTEGER NOT NULL DEFAULT 0, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL,'
    " CONSTRAINT tourism_venue_terms CHECK (\"format\" IN ('tickets', 'hotel', 'dining', 'retail', 'shows')"
    ' AND "pass_points_pct" BETWEEN 0 AND 1000 AND "pass_discount_pct" BETWEEN 0 AND 90))',
    'CREATE INDEX IF NOT EXISTS tourism_venue_program ON "tourism_venue" ("program_id")',
    'CREATE TABLE IF NOT EXISTS "tourism_gate" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "store_id" UUID NOT NULL, "code" VARCHAR(32) NOT NULL, "name" VARCHAR(50) NOT NULL,'
    ' "active" BOOLEAN NOT NULL DEFAULT TRUE, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_gate_code ON "tourism_gate" ("program_id", "code")',
    'CREATE TABLE IF NOT EXISTS "tourism_entry" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "gate_id" UUID NOT NULL REFERENCES "tourism_gate" ("id"), "store_id" UUID NOT NULL,'
    ' "pass_id" UUID DEFAULT NULL, "person_id" UUID DEFAULT NULL, "member_id" UUID DEFAULT NULL,'
    ' "kind" VARCHAR(16) NOT NULL, "allowed" BOOLEAN NOT NULL, "reason" VARCHAR(32) NOT NULL DEFAULT \'\','
    ' "qr_step" BIGINT DEFAULT NULL, "occurred_at" TIMESTAMPTZ NOT NULL, "day" VARCHAR(10) NOT NULL,'
    ' "hour" INTEGER NOT NULL, "day_start" TIMESTAMPTZ NOT NULL, "day_end" TIMESTAMPTZ NOT NULL,'
    ' "request_key" VARCHAR(255) DEFAULT NULL, "answer" TEXT DEFAULT NULL,'
    ' CONSTRAINT tourism_entry_hour CHECK ("hour" BETWEEN 0 AND 23))',
    'CREATE INDEX IF NOT EXISTS tourism_entry_day ON "tourism_entry" ("program_id", "day")',
    'CREATE INDEX IF NOT EXISTS tourism_entry_member ON "tourism_entry" ("member_id", "day") WHERE "allowed"',
    'CREATE INDEX IF NOT EXISTS tourism_entry_gate ON "tourism_entry" ("gate_id", "day")',
    # a gate's retried request has one effect; an e-card code opens a gate once
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_entry_request ON "tourism_entry" ("program_id", "gate_id", "request_key")'
    ' WHERE "request_key" IS NOT NULL',
    'CREATE UNIQUE INDEX IF NOT EXISTS tourism_entry_code ON "tourism_entry" ("person_id", "qr_step")'
    ' WHERE "allowed" AND "qr_step" IS NOT NULL',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tourism", description=DESCRIPTION)

    async def tables():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(tables)

    return manager
