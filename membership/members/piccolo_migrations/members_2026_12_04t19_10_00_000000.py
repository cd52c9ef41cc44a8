from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-04T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: a data key per member, the fingerprints of the master keys, consent history"

# Column types as Piccolo declares them (SQLite converts values by the declared type name).
_STATEMENTS = [
    'ALTER TABLE "member" ADD COLUMN "data_key" TEXT DEFAULT null',
    'ALTER TABLE "member" ADD COLUMN "key_fp" VARCHAR(16) DEFAULT null',
    'CREATE TABLE IF NOT EXISTS "encryption_key" ("fingerprint" VARCHAR(16) PRIMARY KEY NOT NULL,'
    ' "state" VARCHAR(10) NOT NULL, "created_at" TIMESTAMPTZ NOT NULL, "retired_at" TIMESTAMPTZ DEFAULT null)',
    'CREATE TABLE IF NOT EXISTS "member_consent" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "purpose" VARCHAR(32) NOT NULL, "granted" BOOLEAN NOT NULL, "source" VARCHAR(32) NOT NULL DEFAULT \'\','
    ' "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "recorded_at" TIMESTAMPTZ NOT NULL)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def personal_data():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.index("member_consent", "member_consent_history", ["member_id", "recorded_at"])
        await ddl.index("member", "member_key_fp", ["key_fp"])
        await ddl.check("encryption_key", "encryption_key_state", "state IN ('current', 'retiring', 'retired')")
        await ddl.unique_index("encryption_key", "encryption_key_one_current", ["state"], where="state = 'current'")

    manager.add_raw(personal_data)

    return manager
