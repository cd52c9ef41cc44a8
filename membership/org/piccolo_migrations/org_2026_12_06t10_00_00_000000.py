from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one-time setup links: the hash of each token, when it expires and when it was used"

_TABLE = (
    'CREATE TABLE IF NOT EXISTS "setup_token" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "token_hash" VARCHAR(64) NOT NULL, "created_at" TIMESTAMPTZ NOT NULL,'
    ' "expires_at" TIMESTAMPTZ NOT NULL, "used_at" TIMESTAMPTZ DEFAULT null)'
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="org", description=DESCRIPTION)

    async def setup_tokens():
        await engine_finder().run_ddl(_TABLE)
        await ddl.unique_index("setup_token", "setup_token_hash_unique", ["token_hash"])

    manager.add_raw(setup_tokens)

    return manager
