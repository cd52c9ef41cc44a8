from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-16T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a member's inbox keeps a message once, keyed with the program too (an ON CONFLICT target on Citus)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def with_program():
        await ddl.unique_with_program("inbox_message", "inbox_message_once", ["member_id", "message_id"], "message_id <> ''")

    manager.add_raw(with_program)

    return manager
