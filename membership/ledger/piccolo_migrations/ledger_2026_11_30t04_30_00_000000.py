from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sign-ins: one per member and day"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("sign_in", "sign_in_member_day", ["member_id", "day"])

    manager.add_raw(constraints)

    return manager
