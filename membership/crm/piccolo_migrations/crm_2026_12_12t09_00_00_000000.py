from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-12T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "each segment's size per day (the segment_sizes report)"

_STATEMENT = (
    'CREATE TABLE IF NOT EXISTS "segment_size" ('
    ' "segment_id" UUID NOT NULL REFERENCES "segment" ("id") ON DELETE CASCADE,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "day" DATE NOT NULL, "members" INTEGER NOT NULL DEFAULT 0,'
    ' PRIMARY KEY ("segment_id", "day"))'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def segment_sizes():
        await engine_finder().run_ddl(_STATEMENT)

    manager.add_raw(segment_sizes)

    return manager
