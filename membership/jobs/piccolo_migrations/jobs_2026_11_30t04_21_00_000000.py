from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job runs: one per job and schedule slot"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="jobs", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("job_run", "job_run_slot", ["name", "slot"], where="slot IS NOT NULL")
        await ddl.index("job_run", "job_run_name_started", ["name", "started_at"])

    manager.add_raw(constraints)

    return manager
