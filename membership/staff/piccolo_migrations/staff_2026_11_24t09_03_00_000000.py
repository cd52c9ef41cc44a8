from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-24T09:03:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff: roles checked, sessions pruned by expiry"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="staff", description=DESCRIPTION)

    async def constraints():
        await ddl.check("staff", "staff_role", "role IN ('owner', 'manager', 'clerk', 'analyst')")
        await ddl.check("staff", "staff_failed_logins", "failed_logins >= 0")
        await ddl.index("staff_session", "staff_session_expiry", ["expires_at"])

    manager.add_raw(constraints)

    return manager
