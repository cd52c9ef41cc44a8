from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-23T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints and indexes SQLite and PostgreSQL both understand"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def constraints():
        for column in ("member_no", "phone_hash", "email_hash", "id_number_hash"):
            await ddl.unique_index("member", f"member_{column}_unique", ["program_id", column])
        await ddl.unique_index(
            "credential", "credential_active_unique", ["program_id", "kind", "value_hash"], where="state = 'active'"
        )
        await ddl.index("credential", "credential_lookup", ["program_id", "kind", "value_hash"])

    manager.add_raw(constraints)

    return manager
