from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-09T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "campaigns, and the members each served (or held back) per occasion"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "campaign" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT, "code" VARCHAR(64) NOT NULL,'
    ' "terms" TEXT NOT NULL, "active" BOOLEAN NOT NULL DEFAULT true, "last_run_at" TIMESTAMPTZ DEFAULT null,'
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "campaign_member" ('
    ' "campaign_id" UUID NOT NULL REFERENCES "campaign" ("id") ON DELETE CASCADE,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT, "occasion" VARCHAR(100) NOT NULL,'
    ' "grp" VARCHAR(8) NOT NULL, "targeted_at" TIMESTAMPTZ NOT NULL, "converts_until" TIMESTAMPTZ NOT NULL,'
    ' PRIMARY KEY ("campaign_id", "member_id", "occasion"))',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def campaigns():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("campaign", "campaign_code_unique", ["program_id", "code"])
        await ddl.index("campaign_member", "campaign_member_member", ["member_id"])
        await ddl.check("campaign_member", "campaign_member_group", "grp IN ('target', 'control')")

    manager.add_raw(campaigns)

    return manager
