from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-13T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scores and segment sizes keyed with the program too (ON CONFLICT targets that hold on Citus)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def with_program():
        await ddl.unique_with_program("member_score", "member_score_program_key", ["member_id"])
        await ddl.unique_with_program("segment_size", "segment_size_program_key", ["segment_id", "day"])

    manager.add_raw(with_program)

    return manager
