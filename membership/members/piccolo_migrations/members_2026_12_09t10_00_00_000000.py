from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "member merges and what each moved (forwarding merged members to the survivor, undo)"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "member_merge" ("id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "survivor_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "merged" TEXT NOT NULL DEFAULT \'[]\', "moved" TEXT NOT NULL DEFAULT \'{}\','
    ' "reason" TEXT NOT NULL DEFAULT \'\', "actor" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "posting_id" UUID DEFAULT null, "survivor_tier" VARCHAR(32) DEFAULT null,'
    ' "survivor_tier_since" TIMESTAMPTZ DEFAULT null, "survivor_review_at" TIMESTAMPTZ DEFAULT null,'
    ' "merged_tier" VARCHAR(32) DEFAULT null, "created_at" TIMESTAMPTZ NOT NULL,'
    ' "undone_at" TIMESTAMPTZ DEFAULT null, "undone_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "undo_reason" TEXT NOT NULL DEFAULT \'\', "undo_posting_id" UUID DEFAULT null)',
    'CREATE TABLE IF NOT EXISTS "member_merge_move" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "merge_id" UUID NOT NULL REFERENCES "member_merge" ("id") ON DELETE RESTRICT,'
    ' "kind" VARCHAR(24) NOT NULL, "row_id" UUID NOT NULL, "from_id" UUID DEFAULT null, "note" TEXT DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def merges():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.index("member_merge", "member_merge_survivor", ["survivor_id"])
        await ddl.index("member_merge_move", "member_merge_move_merge", ["merge_id", "kind"])
        await ddl.index("member_merge_move", "member_merge_move_row", ["row_id", "kind"])

    manager.add_raw(merges)

    return manager
