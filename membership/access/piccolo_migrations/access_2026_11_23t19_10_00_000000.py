from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-23T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api key prefixes are unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="access", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("api_key", "api_key_prefix_unique", ["prefix"])

    manager.add_raw(constraints)

    return manager
