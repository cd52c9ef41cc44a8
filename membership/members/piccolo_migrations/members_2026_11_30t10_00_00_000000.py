from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-11-30T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "member: the phone, e-mail and ID-number uniqueness indexes hold only members who gave one"

HASHED = ("phone_hash", "email_hash", "id_number_hash")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def partial():
        # NULLs never conflict, so the partial indexes refuse exactly what the full ones did; a
        # member without an e-mail or ID number no longer has entries in them, and PostgreSQL
        # writes none when a tier review or a profile edit rewrites the member's row
        engine = engine_finder()
        for column in HASHED:
            name = f"member_{column}_unique"
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")
            await ddl.unique_index("member", name, ["program_id", column], where=f"{column} IS NOT NULL")

    manager.add_raw(partial)

    return manager
