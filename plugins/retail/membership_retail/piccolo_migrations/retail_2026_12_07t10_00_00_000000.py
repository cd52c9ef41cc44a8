"""The retail pack's tables, as raw DDL that SQLite and PostgreSQL both run."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "retail: catalogue, member prices, points rules, receipts and claims, purchase cycles, reminders"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "retail_product" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "sku" VARCHAR(64) NOT NULL, "name" VARCHAR(200) NOT NULL DEFAULT \'\','
    ' "category" VARCHAR(64) NOT NULL DEFAULT \'\', "brand" VARCHAR(64) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "retail_product_sku" ON "retail_product" ("program_id", "sku")',
    'CREATE INDEX IF NOT EXISTS "retail_product_category" ON "retail_product" ("program_id", "category")',
    'CREATE INDEX IF NOT EXISTS "retail_product_brand" ON "retail_product" ("program_id", "brand")',
    'CREATE TABLE IF NOT EXISTS "retail_member_price" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "scope" VARCHAR(10) NOT NULL CHECK ("scope" IN (\'sku\', \'category\')), "target" VARCHAR(64) NOT NULL,'
    ' "tier" VARCHAR(32) NOT NULL DEFAULT \'\', "price" BIGINT DEFAULT null CHECK ("price" >= 0),'
    ' "percent" INTEGER DEFAULT null CHECK ("percent" BETWEEN 1 AND 99),'
    ' "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\', "updated_at" TIMESTAMPTZ NOT NULL,'
    ' CHECK (("price" IS NULL) <> ("percent" IS NULL)))',
    'CREATE UNIQUE INDEX IF NOT EXISTS "retail_member_price_target"'
    ' ON "retail_member_price" ("program_id", "scope", "target", "tier")',
    'CREATE TABLE IF NOT EXISTS "retail_points_rule" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "name" VARCHAR(100) NOT NULL, "brands" TEXT NOT NULL DEFAULT \'[]\', "categories" TEXT NOT NULL DEFAULT \'[]\','
    ' "skus" TEXT NOT NULL DEFAULT \'[]\', "exclude_brands" TEXT NOT NULL DEFAULT \'[]\','
    ' "exclude_categories" TEXT NOT NULL DEFAULT \'[]\', "exclude_skus" TEXT NOT NULL DEFAULT \'[]\','
    ' "points_per_yuan" INTEGER NOT NULL CHECK ("points_per_yuan" >= 1), "starts_on" DATE DEFAULT null,'
    ' "ends_on" DATE DEFAULT null, "active" BOOLEAN NOT NULL DEFAULT true, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "retail_points_rule_program" ON "retail_points_rule" ("program_id")',
    'CREATE TABLE IF NOT EXISTS "retail_receipt" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "store_id" UUID NOT NULL, "receipt_no" VARCHAR(64) NOT NULL, "occurred_at" TIMESTAMPTZ NOT NULL,'
    ' "total" BIGINT NOT NULL, "lines" TEXT NOT NULL DEFAULT \'[]\', "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "retail_receipt_no" ON "retail_receipt" ("store_id", "receipt_no")',
    'CREATE INDEX IF NOT EXISTS "retail_receipt_time" ON "retail_receipt" ("program_id", "occurred_at")',
    'CREATE TABLE IF NOT EXISTS "retail_claim" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "receipt_id" UUID NOT NULL UNIQUE REFERENCES "retail_receipt" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL, "sale_id" UUID DEFAULT null, "points_earned" BIGINT NOT NULL DEFAULT 0,'
    ' "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "claimed_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "retail_claim_program" ON "retail_claim" ("program_id", "claimed_at")',
    'CREATE TABLE IF NOT EXISTS "retail_cycle" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID NOT NULL, "category" VARCHAR(64) NOT NULL, "purchases" INTEGER NOT NULL,'
    ' "cycle_days" INTEGER NOT NULL, "last_bought_on" DATE NOT NULL, "due_on" DATE NOT NULL,'
    ' "computed_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "retail_cycle_member" ON "retail_cycle" ("member_id", "category")',
    'CREATE INDEX IF NOT EXISTS "retail_cycle_due" ON "retail_cycle" ("program_id", "due_on")',
    'CREATE TABLE IF NOT EXISTS "retail_reminder" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID NOT NULL, "category" VARCHAR(64) NOT NULL, "due_on" DATE NOT NULL,'
    ' "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "retail_reminder_once"'
    ' ON "retail_reminder" ("member_id", "category", "due_on")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="retail", description=DESCRIPTION)

    async def tables():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(tables)

    return manager
