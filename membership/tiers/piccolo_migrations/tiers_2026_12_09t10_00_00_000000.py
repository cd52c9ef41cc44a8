from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tiers set by hand, with a reason and an end"

_TABLE = (
    'CREATE TABLE IF NOT EXISTS "tier_assignment" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT, "tier" VARCHAR(32) NOT NULL,'
    ' "reason" TEXT NOT NULL, "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "starts_at" TIMESTAMPTZ NOT NULL,'
    ' "ends_at" TIMESTAMPTZ NOT NULL, "ended_at" TIMESTAMPTZ DEFAULT null,'
    ' "ended_by" VARCHAR(100) NOT NULL DEFAULT \'\')'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tiers", description=DESCRIPTION)

    async def assignments():
        await engine_finder().run_ddl(_TABLE)
        await ddl.index("tier_assignment", "tier_assignment_member", ["member_id", "ends_at"])
        await ddl.check("tier_assignment", "tier_assignment_period", "ends_at > starts_at")

    manager.add_raw(assignments)

    return manager
