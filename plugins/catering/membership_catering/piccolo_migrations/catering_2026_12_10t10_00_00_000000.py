"""The catering pack's tables, in raw DDL that SQLite and PostgreSQL both take (checks inline in
CREATE TABLE; partial unique indexes for what happens once)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-10T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catering: stamp cards, dining rules, visits, tastes and allergies, handled events"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "catering_stamp_scheme" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "code" VARCHAR(64) NOT NULL, "name" VARCHAR(100) NOT NULL, "skus" TEXT NOT NULL DEFAULT \'[]\','
    ' "categories" TEXT NOT NULL DEFAULT \'[]\', "labels" TEXT NOT NULL DEFAULT \'[]\','
    ' "stamps_per_item" INTEGER NOT NULL DEFAULT 1, "stamps_needed" INTEGER NOT NULL,'
    ' "reward_template" VARCHAR(64) NOT NULL, "valid_days" INTEGER DEFAULT NULL, "starts_at" TIMESTAMPTZ NOT NULL,'
    ' "active" BOOLEAN NOT NULL DEFAULT TRUE, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL,'
    ' CONSTRAINT catering_stamp_scheme_counts CHECK ("stamps_per_item" BETWEEN 1 AND 100'
    ' AND "stamps_needed" BETWEEN 1 AND 1000 AND ("valid_days" IS NULL OR "valid_days" >= 1)))',
    'CREATE UNIQUE INDEX IF NOT EXISTS catering_stamp_scheme_code ON "catering_stamp_scheme" ("program_id", "code")',
    'CREATE TABLE IF NOT EXISTS "catering_stamp_card" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "scheme_id" UUID NOT NULL REFERENCES "catering_stamp_scheme" ("id") ON DELETE CASCADE,'
    ' "member_id" UUID NOT NULL, "card_no" INTEGER NOT NULL DEFAULT 1, "stamps" INTEGER NOT NULL DEFAULT 0,'
    ' "started_at" TIMESTAMPTZ DEFAULT NULL, "expires_at" TIMESTAMPTZ DEFAULT NULL, "updated_at" TIMESTAMPTZ NOT NULL,'
    ' CONSTRAINT catering_stamp_card_no CHECK ("card_no" >= 1))',
    'CREATE UNIQUE INDEX IF NOT EXISTS catering_stamp_card_member ON "catering_stamp_card" ("scheme_id", "member_id")',
    'CREATE INDEX IF NOT EXISTS catering_stamp_card_holder ON "catering_stamp_card" ("member_id")',
    'CREATE INDEX IF NOT EXISTS catering_stamp_card_due ON "catering_stamp_card" ("expires_at")'
    ' WHERE "expires_at" IS NOT NULL',
    'CREATE TABLE IF NOT EXISTS "catering_stamp_entry" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "scheme_id" UUID NOT NULL REFERENCES "catering_stamp_scheme" ("id") ON DELETE CASCADE,'
    ' "member_id" UUID NOT NULL, "card_no" INTEGER NOT NULL, "kind" VARCHAR(8) NOT NULL, "stamps" INTEGER NOT NULL,'
    ' "quantity" INTEGER NOT NULL DEFAULT 0, "per_item" INTEGER NOT NULL DEFAULT 0, "sale_id" UUID DEFAULT NULL,'
    ' "line_no" INTEGER DEFAULT NULL, "coupon_code" VARCHAR(64) DEFAULT NULL, "occurred_at" TIMESTAMPTZ NOT NULL,'
    ' "created_at" TIMESTAMPTZ NOT NULL,'
    " CONSTRAINT catering_stamp_entry_kind CHECK (\"kind\" IN ('earn', 'refund', 'expire', 'reward')))",
    # a sale line earns a scheme's stamps once, whoever (event, repeat, demo, job) settles it
    'CREATE UNIQUE INDEX IF NOT EXISTS catering_stamp_entry_earned ON "catering_stamp_entry"'
    ' ("scheme_id", "sale_id", "line_no") WHERE "kind" = \'earn\'',
    'CREATE INDEX IF NOT EXISTS catering_stamp_entry_sale ON "catering_stamp_entry" ("sale_id")'
    ' WHERE "sale_id" IS NOT NULL',
    'CREATE INDEX IF NOT EXISTS catering_stamp_entry_member ON "catering_stamp_entry" ("member_id", "created_at")',
    'CREATE TABLE IF NOT EXISTS "catering_dining_rule" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "code" VARCHAR(64) NOT NULL, "name" VARCHAR(100) NOT NULL, "meal_periods" TEXT NOT NULL DEFAULT \'[]\','
    ' "service_modes" TEXT NOT NULL DEFAULT \'[]\', "min_party_size" INTEGER NOT NULL DEFAULT 0,'
    ' "min_per_head" BIGINT NOT NULL DEFAULT 0, "multiplier_pct" INTEGER NOT NULL DEFAULT 100,'
    ' "bonus_points" BIGINT NOT NULL DEFAULT 0, "active" BOOLEAN NOT NULL DEFAULT TRUE,'
    ' "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL,'
    ' "updated_at" TIMESTAMPTZ NOT NULL,'
    ' CONSTRAINT catering_dining_rule_terms CHECK ("min_party_size" >= 0 AND "min_per_head" >= 0'
    ' AND "multiplier_pct" BETWEEN 100 AND 1000 AND "bonus_points" >= 0))',
    'CREATE UNIQUE INDEX IF NOT EXISTS catering_dining_rule_code ON "catering_dining_rule" ("program_id", "code")',
    'CREATE TABLE IF NOT EXISTS "catering_visit" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "sale_id" UUID NOT NULL, "member_id" UUID NOT NULL, "store_id" UUID NOT NULL,'
    ' "occurred_at" TIMESTAMPTZ NOT NULL, "meal_period" VARCHAR(16) NOT NULL, "service_mode" VARCHAR(16) NOT NULL,'
    ' "party_size" INTEGER DEFAULT NULL, "total" BIGINT NOT NULL, "per_head" BIGINT DEFAULT NULL,'
    ' "created_at" TIMESTAMPTZ NOT NULL,'
    ' CONSTRAINT catering_visit_party CHECK ("party_size" IS NULL OR "party_size" >= 1))',
    'CREATE UNIQUE INDEX IF NOT EXISTS catering_visit_sale ON "catering_visit" ("sale_id")',
    'CREATE INDEX IF NOT EXISTS catering_visit_when ON "catering_visit" ("program_id", "occurred_at")',
    'CREATE INDEX IF NOT EXISTS catering_visit_member ON "catering_visit" ("member_id", "occurred_at")',
    # allergies and the note are sealed under the member's data key (seal_member_secret): text
    'CREATE TABLE IF NOT EXISTS "catering_preference" ("member_id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL, "tastes" TEXT NOT NULL DEFAULT \'[]\', "allergies" TEXT NOT NULL DEFAULT \'\','
    ' "note" TEXT NOT NULL DEFAULT \'\', "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "catering_event" ("event_id" UUID PRIMARY KEY NOT NULL,'
    ' "name" VARCHAR(64) NOT NULL, "handled_at" TIMESTAMPTZ NOT NULL)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catering", description=DESCRIPTION)

    async def tables():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(tables)

    return manager
