from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points rules: one code per program"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("points_rule", "points_rule_code", ["program_id", "code"])

    manager.add_raw(constraints)

    return manager
