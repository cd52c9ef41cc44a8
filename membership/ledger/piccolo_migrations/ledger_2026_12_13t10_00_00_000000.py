from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-13T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a member's sign-in of a day is unique in the program (the key carries it)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def with_program():
        await ddl.unique_with_program("sign_in", "sign_in_member_day", ["member_id", "day"])

    manager.add_raw(with_program)

    return manager
