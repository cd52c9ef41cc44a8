from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-24T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reader reads: outcomes checked, followed by time"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="readers", description=DESCRIPTION)

    async def constraints():
        await ddl.check("reader_read", "reader_read_outcome", "outcome IN ('member', 'unknown', 'refused', 'fault')")
        await ddl.index("reader_read", "reader_read_program_time", ["program_id", "occurred_at"])
        await ddl.index("reader_read", "reader_read_time", ["occurred_at"])

    manager.add_raw(constraints)

    return manager
