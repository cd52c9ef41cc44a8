from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-11T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: a program's members in id order (a campaign walks its audience chunk by chunk)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def program_order():
        await ddl.index("member", "member_program_id", ["program_id", "id"])

    manager.add_raw(program_order)

    return manager
