from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points transfers between members, and their reversals"

_TABLE = (
    'CREATE TABLE IF NOT EXISTS "points_transfer" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "from_member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "to_member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "points" BIGINT NOT NULL, "posting_id" UUID NOT NULL, "reason" TEXT NOT NULL DEFAULT \'\','
    ' "actor" VARCHAR(100) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL,'
    ' "reversed_at" TIMESTAMPTZ DEFAULT null, "reversal_posting_id" UUID DEFAULT null,'
    ' "reversed_by" VARCHAR(100) NOT NULL DEFAULT \'\', "reversal_reason" TEXT NOT NULL DEFAULT \'\')'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def transfers():
        await engine_finder().run_ddl(_TABLE)
        await ddl.index("points_transfer", "points_transfer_from", ["from_member_id", "created_at"])
        await ddl.index("points_transfer", "points_transfer_to", ["to_member_id", "created_at"])
        await ddl.check("points_transfer", "points_transfer_points", "points > 0")

    manager.add_raw(transfers)

    return manager
