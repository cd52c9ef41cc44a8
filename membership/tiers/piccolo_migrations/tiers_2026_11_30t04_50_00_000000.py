from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "paid memberships: found by end date; states checked"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tiers", description=DESCRIPTION)

    async def constraints():
        await ddl.index("paid_membership", "paid_membership_active_end", ["ends_at"], where="status = 'active'")
        await ddl.check("paid_membership", "paid_membership_status", "status IN ('active', 'expired', 'refunded')")

    manager.add_raw(constraints)

    return manager
