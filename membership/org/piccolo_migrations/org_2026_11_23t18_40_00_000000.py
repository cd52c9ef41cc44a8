from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-23T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints and indexes SQLite and PostgreSQL both understand"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="org", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("store", "store_code_unique", ["merchant_id", "code"])

    manager.add_raw(constraints)

    return manager
