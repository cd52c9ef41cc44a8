from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-04T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plugins enabled per program, with their settings"

_TABLE = (
    'CREATE TABLE IF NOT EXISTS "program_plugin" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "plugin" VARCHAR(100) NOT NULL, "enabled" BOOLEAN NOT NULL DEFAULT false,'
    ' "settings" JSON NOT NULL DEFAULT \'{}\', "updated_by" VARCHAR(100) NOT NULL DEFAULT \'\','
    ' "updated_at" TIMESTAMPTZ NOT NULL)'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="org", description=DESCRIPTION)

    async def program_plugins():
        await engine_finder().run_ddl(_TABLE)
        await ddl.unique_index("program_plugin", "program_plugin_unique", ["program_id", "plugin"])

    manager.add_raw(program_plugins)

    return manager
