from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a points lot expires all at once: it has expired none while it has points left"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def check():
        await ddl.check("points_lot", "expired_only_when_empty", "expired = 0 OR remaining = 0")

    manager.add_raw(check)

    return manager
