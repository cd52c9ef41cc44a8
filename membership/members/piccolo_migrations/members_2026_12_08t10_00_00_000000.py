from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: staff notes about a member, sealed under the member's data key"

_TABLE = (
    'CREATE TABLE IF NOT EXISTS "member_note" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "body_enc" TEXT NOT NULL, "author" VARCHAR(100) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL)'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def notes():
        await engine_finder().run_ddl(_TABLE)
        await ddl.index("member_note", "member_note_member", ["member_id", "created_at"])

    manager.add_raw(notes)

    return manager
