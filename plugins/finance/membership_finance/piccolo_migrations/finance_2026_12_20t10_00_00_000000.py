"""The finance pack's tables, in raw DDL that SQLite and PostgreSQL both take (checks inline in
CREATE TABLE; unique indexes for what exists once per member and month)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-20T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "finance: MCC rules, monthly balances and their feeds, monthly points statements"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "finance_mcc_rule" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "mcc_from" INTEGER NOT NULL, "mcc_to" INTEGER NOT NULL, "name" VARCHAR(50) NOT NULL,'
    ' "multiplier_pct" INTEGER NOT NULL, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL,'
    ' CONSTRAINT finance_mcc_rule_terms CHECK ("mcc_from" BETWEEN 0 AND 9999 AND "mcc_to" BETWEEN "mcc_from" AND 9999'
    ' AND "multiplier_pct" BETWEEN 0 AND 1000))',
    'CREATE UNIQUE INDEX IF NOT EXISTS finance_mcc_rule_range ON "finance_mcc_rule" ("program_id", "mcc_from", "mcc_to")',
    'CREATE TABLE IF NOT EXISTS "finance_balance" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID NOT NULL, "month" VARCHAR(7) NOT NULL, "balance" BIGINT NOT NULL,'
    ' "source" VARCHAR(16) NOT NULL, "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL, CONSTRAINT finance_balance_terms CHECK ("balance" >= 0))',
    'CREATE UNIQUE INDEX IF NOT EXISTS finance_balance_month ON "finance_balance" ("member_id", "month")',
    'CREATE INDEX IF NOT EXISTS finance_balance_program ON "finance_balance" ("program_id", "month")',
    'CREATE TABLE IF NOT EXISTS "finance_feed" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "month" VARCHAR(7) NOT NULL, "source" VARCHAR(16) NOT NULL, "filename" VARCHAR(200) NOT NULL DEFAULT \'\','
    ' "lines" INTEGER NOT NULL, "stored" INTEGER NOT NULL, "refused" INTEGER NOT NULL,'
    ' "upgraded" INTEGER NOT NULL, "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS finance_feed_program ON "finance_feed" ("program_id", "created_at")',
    'CREATE TABLE IF NOT EXISTS "finance_statement" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID NOT NULL, "month" VARCHAR(7) NOT NULL, "opening" BIGINT NOT NULL,'
    ' "earned" BIGINT NOT NULL, "redeemed" BIGINT NOT NULL, "expired" BIGINT NOT NULL,'
    ' "adjusted" BIGINT NOT NULL, "closing" BIGINT NOT NULL, "built_at" TIMESTAMPTZ NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS finance_statement_month ON "finance_statement" ("member_id", "month")',
    'CREATE INDEX IF NOT EXISTS finance_statement_program ON "finance_statement" ("program_id", "month")',
    'CREATE TABLE IF NOT EXISTS "finance_statement_run" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL, "month" VARCHAR(7) NOT NULL, "statements" INTEGER NOT NULL,'
    ' "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "built_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS finance_statement_run_program ON "finance_statement_run" ("program_id", "built_at")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="finance", description=DESCRIPTION)

    async def tables():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(tables)

    return manager
